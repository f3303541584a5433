//! `ardent-executor`: the Ballista executor, built with ardent's extension codecs and UDFs, with
//! GDAL linked in to read raster stacks. Every flag of Ballista's own executor is accepted
//! (`--scheduler-host`, `--scheduler-port`, `--bind-port`, `--bind-grpc-port`, `-c/--vcores`,
//! `--work-dir`, `--memory-pool-size`, ...); see `ardent-executor --help`.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use ardent_engine::distributed::{
    cluster_config, executor_function_registry, parse_flags_with_env, run_to_exit_code,
    ArdentLogicalCodec, ArdentPhysicalCodec,
};
use ballista_core::extension::SessionConfigExt;
use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use datafusion::prelude::SessionConfig;

fn main() -> ExitCode {
    let options: Config = parse_flags_with_env("ARDENT_EXECUTOR_").unwrap_or_else(|e| e.exit());
    run_to_exit_code(
        &mut tokio::runtime::Builder::new_multi_thread(),
        run(options),
    )
}

async fn run(options: Config) -> Result<(), String> {
    let mut config: ExecutorProcessConfig = options.try_into().map_err(|e| format!("{e}"))?;
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| config.special_mod_log_level.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    ardent_engine::gdal_io::init();
    config.override_function_registry = Some(Arc::new(executor_function_registry()));
    config.override_logical_codec = Some(Arc::new(ArdentLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(ArdentPhysicalCodec::default()));
    config.override_config_producer = Some(Arc::new(|| {
        cluster_config(SessionConfig::new_with_ballista())
    }));
    let scheduler = format!("{}:{}", config.scheduler_host, config.scheduler_port);
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("executor (scheduler {scheduler}) stopped: {e}"))
}
