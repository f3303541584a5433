//! The Ballista scheduler service (gRPC for clients and executors, REST and metrics on the same
//! port) with ardent's codecs, session builder and config producer.

use std::net::SocketAddr;
use std::sync::Arc;

use ardent_engine::distributed::{
    cluster_config, scheduler_session_state, ArdentLogicalCodec, ArdentPhysicalCodec,
};
use ballista_core::extension::SessionConfigExt;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use datafusion::prelude::SessionConfig;

/// The scheduler's options: every flag of Ballista's own scheduler.
pub type SchedulerOptions = Config;

/// Why the scheduler could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("invalid bind address '{address}': {source}")]
    BindAddress {
        address: String,
        #[source]
        source: std::net::AddrParseError,
    },
    #[error("invalid scheduler options: {0}")]
    Options(String),
    #[error("cannot set up the scheduler's state: {0}")]
    State(String),
    #[error("scheduler on {address} stopped: {message}")]
    Stopped {
        address: SocketAddr,
        message: String,
    },
}

/// Serves until the scheduler stops.
pub async fn serve(options: SchedulerOptions) -> Result<(), ServeError> {
    let address = format!("{}:{}", options.bind_host, options.bind_port);
    let address: SocketAddr = address
        .parse()
        .map_err(|source| ServeError::BindAddress { address, source })?;
    let mut config: SchedulerConfig = options
        .try_into()
        .map_err(|e| ServeError::Options(format!("{e}")))?;
    config.override_logical_codec = Some(Arc::new(ArdentLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(ArdentPhysicalCodec::default()));
    let config = config
        .with_override_config_producer(Arc::new(|| {
            cluster_config(SessionConfig::new_with_ballista())
        }))
        .with_override_session_builder(Arc::new(scheduler_session_state));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| ServeError::State(e.to_string()))?;
    eprintln!("ardent-scheduler listening on {address}");
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| ServeError::Stopped {
            address,
            message: e.to_string(),
        })
}
