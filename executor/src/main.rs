//! `ardent-executor`: the Ballista executor, built with ardent's extension codecs and UDFs, with
//! GDAL linked in to read raster stacks. Every flag of Ballista's own executor is accepted
//! (`--scheduler-host`, `--scheduler-port`, `--bind-port`, `--bind-grpc-port`, `-c/--vcores`,
//! `--work-dir`, `--memory-pool-size`, ...), and the cache's budgets (`--cache-memory-limit`,
//! `--cache-disk-limit`, `--cache-dir`); see `ardent-executor --help`. `/healthz` and `/readyz` answer
//! on `--bind-health-port` for container and Kubernetes probes. Its Arrow Flight service
//! serves the cached partitions it holds beside Ballista's shuffle files.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use ardent_engine::cache::store::PartitionStore;
use ardent_engine::cache::CacheFlags;
use ardent_engine::distributed::flight::CacheFlightService;
use ardent_engine::distributed::{
    cluster_config, executor_function_registry, parse_flags_with_env, run_to_exit_code,
    ArdentLogicalCodec, ArdentPhysicalCodec,
};
use arrow_flight::flight_service_server::FlightServiceServer;
use ballista_core::error::BallistaError;
use ballista_core::extension::SessionConfigExt;
use ballista_core::utils::create_grpc_server;
use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_executor::flight_service::BallistaFlightService;
use ballista_executor::health::spawn_health_server;
use datafusion::prelude::SessionConfig;

/// The executor's options: every flag of Ballista's own executor, and the cache's budgets.
#[derive(clap::Parser, Debug)]
#[command(name = "ardent-executor", version)]
struct ExecutorOptions {
    #[command(flatten)]
    ballista: Config,
    #[command(flatten)]
    cache: CacheFlags,
}

fn main() -> ExitCode {
    let options: ExecutorOptions =
        parse_flags_with_env("ARDENT_EXECUTOR_").unwrap_or_else(|e| e.exit());
    run_to_exit_code(
        &mut tokio::runtime::Builder::new_multi_thread(),
        run(options),
    )
}

async fn run(options: ExecutorOptions) -> Result<(), String> {
    let health_address = format!(
        "{}:{}",
        options.ballista.bind_host, options.ballista.bind_health_port
    );
    let health_address: std::net::SocketAddr = health_address
        .parse()
        .map_err(|e| format!("invalid --bind-host/--bind-health-port {health_address}: {e}"))?;
    let limits = options.cache.limits().map_err(|e| e.to_string())?;
    PartitionStore::global()
        .set_limits(limits)
        .map_err(|e| e.to_string())?;
    let mut config: ExecutorProcessConfig =
        options.ballista.try_into().map_err(|e| format!("{e}"))?;
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
    let (decoding, encoding) = (
        config.grpc_max_decoding_message_size as usize,
        config.grpc_max_encoding_message_size as usize,
    );
    // Ballista's Flight service (shuffle files), wrapped to serve cached partitions too.
    config.override_arrow_flight_service = Some(Arc::new(
        move |work_dir, address, mut shutdown, grpc_config| {
            tokio::spawn(async move {
                let service = CacheFlightService::new(BallistaFlightService::new(work_dir));
                create_grpc_server(&grpc_config)
                    .add_service(
                        FlightServiceServer::new(service)
                            .max_decoding_message_size(decoding)
                            .max_encoding_message_size(encoding),
                    )
                    .serve_with_shutdown(address, shutdown.recv())
                    .await
                    .map_err(BallistaError::TonicError)
            })
        },
    ));
    // The probes of containers and Kubernetes (/healthz: alive, /readyz: the last heartbeat to
    // the scheduler succeeded), served beside the executor as Ballista's own binary does.
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel();
    let health = spawn_health_server(health_address, config.health.clone(), health_stopped);
    let scheduler = format!("{}:{}", config.scheduler_host, config.scheduler_port);
    let result = start_executor_process(Arc::new(config))
        .await
        .map_err(|e| format!("executor (scheduler {scheduler}) stopped: {e}"));
    let _ = stop_health.send(());
    match health.await {
        Ok(Err(e)) if result.is_ok() => Err(format!("health server on {health_address}: {e}")),
        _ => result,
    }
}
