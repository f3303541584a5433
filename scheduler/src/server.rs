//! The scheduler process: Ballista's gRPC and REST service for clients and executors (on the
//! cluster network) with ardent's codecs, session builder and config producer, and beside it,
//! each on its own port, the [Flight SQL service](crate::flight_sql) and the [web UI](crate::ui)
//! over the same scheduler, with the same users. The [cache registry](crate::cache) is
//! installed as the process's cache locator, and the cache-aware placement replaces Ballista's
//! default task distribution. With `--mesos-master`, the scheduler is also a [Mesos
//! framework](crate::mesos) placing its executors on the agents of its offers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ardent_engine::cache::locate::CacheLocator;
use ardent_engine::distributed::{
    cluster_config, scheduler_session_state, ArdentLogicalCodec, ArdentPhysicalCodec,
};
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpc;
use ballista_core::serde::protobuf::ExecutorStoppedParams;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use ardent_engine::users::{Users, UsersError};

use crate::auth::Credentials;
use crate::cache::placement::CachePlacement;
use crate::cache::CacheRegistry;
use crate::flight_sql::{FlightSql, FlightSqlError, FlightSqlOptions};
use crate::mesos::{Cluster, FrameworkHandle, MesosError, MesosOptions};
use crate::placements::TaskPlacements;
use crate::ui::{Ui, UiError, UiOptions};

/// The scheduler's options: every flag of Ballista's own scheduler, and ardent's services'.
#[derive(clap::Parser, Debug)]
#[command(name = "ardent-scheduler", version)]
pub struct SchedulerOptions {
    #[command(flatten)]
    pub ballista: Config,
    #[command(flatten)]
    pub flight_sql: FlightSqlOptions,
    #[command(flatten)]
    pub ui: UiOptions,
    #[command(flatten)]
    pub mesos: MesosOptions,
    /// Users file: one `user:<argon2id hash>` line each, made with `ardent passwd USER`. Flight
    /// SQL and the web UI ask for these users' passwords. Without it, both take anyone, so they
    /// serve loopback only.
    #[arg(long)]
    pub users: Option<PathBuf>,
}

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
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Users(#[from] UsersError),
    #[error(transparent)]
    FlightSql(#[from] FlightSqlError),
    #[error(transparent)]
    Ui(#[from] UiError),
    #[error(transparent)]
    Mesos(#[from] MesosError),
    #[error("scheduler on {address} stopped: {message}")]
    Stopped {
        address: SocketAddr,
        message: String,
    },
}

/// Serves until the scheduler stops, or until `shutdown` completes: then the Mesos framework,
/// if any, kills its executors and tears itself down first.
pub async fn serve(
    options: SchedulerOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let SchedulerOptions {
        ballista,
        flight_sql,
        ui,
        mesos,
        users,
    } = options;
    if ballista.flight_sql {
        // Ballista's own switch serves Flight SQL on the cluster port, unauthenticated.
        return Err(ServeError::Options(
            "--flight-sql would serve Flight SQL without users on the cluster port: \
             use --flight-sql-port PORT (with --users FILE) instead"
                .to_string(),
        ));
    }
    let address = format!("{}:{}", ballista.bind_host, ballista.bind_port);
    let address: SocketAddr = address
        .parse()
        .map_err(|source| ServeError::BindAddress { address, source })?;
    let mesos = mesos.settings(&ballista.external_host, ballista.bind_port)?;
    let mut config: SchedulerConfig = ballista
        .try_into()
        .map_err(|e| ServeError::Options(format!("{e}")))?;
    config.override_logical_codec = Some(Arc::new(ArdentLogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(ArdentPhysicalCodec::default()));
    let placements = Arc::new(TaskPlacements::default());
    if matches!(config.task_distribution, TaskDistributionPolicy::Bias) {
        // Ballista's default, with a cache's tasks sent to the executors holding their partitions.
        config.task_distribution =
            TaskDistributionPolicy::Custom(Arc::new(CachePlacement::new(Arc::clone(&placements))));
    }
    let config = config
        .with_override_config_producer(Arc::new(|| {
            cluster_config(SessionConfig::new_with_ballista())
        }))
        .with_override_session_builder(Arc::new(scheduler_session_state));
    config
        .validate()
        .map_err(|e| ServeError::Options(e.to_string()))?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| ServeError::State(e.to_string()))?;
    let config = Arc::new(config);
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster.clone(), Arc::clone(&config))
            .await
            .map_err(|e| ServeError::State(e.to_string()))?;

    let registry: Arc<dyn CacheLocator> =
        Arc::new(CacheRegistry::new(Arc::clone(&scheduler.state)));
    ardent_engine::cache::locate::install(Arc::clone(&registry));

    let credentials = match &users {
        Some(path) => {
            let users = Users::load(path)?;
            tracing::info!(users = users.names().count(), file = %path.display(), "users loaded");
            Some(Arc::new(Credentials::new(users)))
        }
        None => None,
    };
    let flight_sql =
        FlightSql::bind(&flight_sql, credentials.clone(), scheduler.clone(), &config).await?;
    let ui = Ui::bind(
        &ui,
        credentials,
        scheduler.clone(),
        cluster,
        registry,
        placements,
        flight_sql.as_ref().map(FlightSql::sessions),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Listen { address, source })?;
    eprintln!("ardent-scheduler listening on {address}");
    if let Some(flight_sql) = &flight_sql {
        eprintln!(
            "ardent-scheduler serving Flight SQL on {}",
            flight_sql.address()
        );
    }
    if let Some(ui) = &ui {
        eprintln!(
            "ardent-scheduler serving its web UI on http://{}",
            ui.address()
        );
    }
    let framework = match mesos {
        Some(mut settings) => {
            // Mesos' own UI links each framework to its web UI, as it did Spark's driver UI.
            settings.webui_url = ui.as_ref().map(|ui| {
                format!(
                    "http://{}:{}/",
                    settings.scheduler_host,
                    ui.address().port()
                )
            });
            eprintln!(
                "ardent-scheduler placing executors through Mesos ({})",
                settings
                    .masters
                    .iter()
                    .map(url::Url::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let cluster = Arc::new(SchedulerCluster(scheduler.clone()));
            Some(FrameworkHandle::start(settings, cluster)?)
        }
        None => None,
    };
    let grpc = async {
        start_grpc_service_with_listener(listener, scheduler)
            .await
            .map_err(|e| ServeError::Stopped {
                address,
                message: e.to_string(),
            })
    };
    let flight_sql = async {
        match flight_sql {
            Some(service) => service.serve().await.map_err(ServeError::from),
            None => std::future::pending().await,
        }
    };
    let ui = async {
        match ui {
            Some(service) => service.serve().await.map_err(ServeError::from),
            None => std::future::pending().await,
        }
    };
    let (framework, mesos) = match framework {
        Some(f) => (
            Some(f.stop_handle()),
            futures::future::Either::Left(f.wait()),
        ),
        None => (None, futures::future::Either::Right(std::future::pending())),
    };
    // Whichever service stops first stops the scheduler.
    let result = tokio::select! {
        result = grpc => result,
        result = flight_sql => result,
        result = ui => result,
        result = mesos => return result.map_err(ServeError::from),
        () = shutdown => Ok(()),
    };
    if let Some(framework) = framework {
        framework.shutdown().await?;
    }
    result
}

/// The scheduler as the Mesos framework sees it.
struct SchedulerCluster(SchedulerServer<LogicalPlanNode, PhysicalPlanNode>);

#[async_trait::async_trait]
impl Cluster for SchedulerCluster {
    fn busy(&self) -> bool {
        let jobs = &self.0.state.task_manager;
        jobs.pending_job_number() + jobs.running_job_number() > 0
    }

    async fn executor_ended(&self, id: &str, reason: &str) {
        // As an executor stopping says so itself: its tasks run elsewhere at once.
        let stopped = ExecutorStoppedParams {
            executor_id: id.to_string(),
            reason: format!("its Mesos task ended: {reason}"),
        };
        if let Err(e) = self.0.executor_stopped(tonic::Request::new(stopped)).await {
            tracing::warn!(executor = id, error = %e, "could not remove the executor");
        }
    }
}
