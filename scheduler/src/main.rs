//! `ardent-scheduler`: the Ballista scheduler, built with ardent's extension codecs, UDFs and RASTER
//! table factory so that raster plans can be planned and split into stages. Every flag of Ballista's
//! own scheduler is accepted (`--bind-host`, `--bind-port`, `--external-host`, `--scheduler-policy`,
//! ...); see `ardent-scheduler --help`.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use ardent_engine::distributed::{
    cluster_config, parse_flags_with_env, run_to_exit_code, scheduler_session_state,
    ArdentLogicalCodec, ArdentPhysicalCodec,
};
use ballista_core::extension::SessionConfigExt;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use datafusion::prelude::SessionConfig;

fn main() -> ExitCode {
    let options: Config = parse_flags_with_env("ARDENT_SCHEDULER_");
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| options.log_level_setting.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    // Ballista's scheduler plans deep trees recursively: it runs with 32 MiB thread stacks.
    run_to_exit_code(
        tokio::runtime::Builder::new_multi_thread().thread_stack_size(32 * 1024 * 1024),
        run(options),
    )
}

async fn run(options: Config) -> Result<(), String> {
    let address = format!("{}:{}", options.bind_host, options.bind_port);
    let address = address
        .parse()
        .map_err(|e| format!("invalid bind address '{address}': {e}"))?;
    let mut config: SchedulerConfig = options.try_into().map_err(|e| format!("{e}"))?;
    config.override_logical_codec = Some(Arc::new(ArdentLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(ArdentPhysicalCodec::default()));
    let config = config
        .with_override_config_producer(Arc::new(|| {
            cluster_config(SessionConfig::new_with_ballista())
        }))
        .with_override_session_builder(Arc::new(scheduler_session_state));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| format!("cannot set up the scheduler's state: {e}"))?;
    eprintln!("ardent-scheduler listening on {address}");
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| format!("scheduler on {address} stopped: {e}"))
}
