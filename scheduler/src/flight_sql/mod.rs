//! Arrow Flight SQL for Python, Jupyter, JDBC and other stock clients, on a port of its own.
//!
//! Built on Ballista's `ballista-flight-sql` frontend, which speaks the protocol (handshake,
//! prepared statements, catalog metadata, SqlInfo, results streamed from the executors) over the
//! scheduler's own session builder, so ardent's RASTER tables and UDFs are there. What ardent
//! adds sits around it, each in its module:
//! - [`auth`]: the handshake's Basic credentials, checked against the scheduler's users
//!   (`--users FILE`, [`crate::auth`]);
//! - `backend`: the sessions' contexts, and jobs submitted for a session, cancelled when their
//!   client goes away;
//! - `gate`: the public service in front of Ballista's: sessions with an owner and an idle
//!   expiry, tickets redeemable only by the session they were issued to, refused handshakes
//!   rate-limited per client, and `COPY ... TO` run on the cluster, which Ballista refuses;
//! - TLS (optionally with client certificates) on the port, here.

pub mod auth;
mod backend;
mod gate;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use ballista_core::extension::BallistaConfigGrpcEndpoint;
use ballista_core::flight_proxy_service::BallistaFlightProxyService;
use ballista_flight_sql::{AnonymousAuthenticator, Authenticator, BallistaFlightSqlService};
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use self::auth::PasswordAuthenticator;
use self::backend::ArdentBackend;
use self::gate::Gate;
pub use self::gate::SessionInfo;
use crate::auth::Credentials;

/// The scheduler ardent serves: Ballista's, with Ballista's plan encodings around ardent's codecs.
pub type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Ballista's frontend keeps a session's state for 30 minutes of idleness at most.
const MAX_IDLE_SECONDS: u64 = 30 * 60;

/// The Flight SQL flags of `ardent-scheduler` (each also read from `ARDENT_SCHEDULER_<FLAG>`).
#[derive(clap::Args, Debug, Clone)]
pub struct FlightSqlOptions {
    /// Serve Arrow Flight SQL (ADBC, JDBC, DBeaver) on this port; 0 serves none. A port of its
    /// own, apart from the scheduler's internal gRPC and REST port.
    #[arg(long, default_value_t = 0)]
    pub flight_sql_port: u16,
    /// Address the Flight SQL port binds to. Other than loopback, --users is required.
    #[arg(long, default_value = "127.0.0.1")]
    pub flight_sql_bind_host: IpAddr,
    /// A Flight SQL session (its tables, views, settings, prepared statements and results)
    /// ends after this many seconds without a request; its token is then refused.
    #[arg(long, default_value_t = MAX_IDLE_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=MAX_IDLE_SECONDS))]
    pub session_idle_seconds: u64,
    /// PEM certificate (chain) for TLS on the Flight SQL port.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: clients must then present a certificate signed by one of them.
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

/// Who a job of a session without a user (a scheduler without `--users`) is named after.
pub const ANONYMOUS_USER: &str = "anonymous";

/// The live sessions of a [`FlightSql`] service.
#[derive(Clone)]
pub struct Sessions(Arc<Gate>);

impl Sessions {
    /// The sessions alive now, oldest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        self.0.sessions()
    }

    /// The user who submitted `job_id` through Flight SQL, for the newest jobs.
    pub fn owner(&self, job_id: &str) -> Option<String> {
        self.0.owner(job_id)
    }
}

/// Why the Flight SQL service could not start or stopped. Messages name the flag or file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlightSqlError {
    #[error(
        "Flight SQL on {0} would let anyone who reaches it run queries: give --users FILE, \
         or bind it to loopback (--flight-sql-bind-host 127.0.0.1)"
    )]
    NeedsUsers(SocketAddr),
    #[error("cannot read {what} '{path}': {source}")]
    ReadPem {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid TLS settings (--tls-cert, --tls-key, --tls-client-ca): {0}")]
    Tls(String),
    #[error("cannot listen for Flight SQL on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("Flight SQL on {address} stopped: {message}")]
    Stopped {
        address: SocketAddr,
        message: String,
    },
}

/// A Flight SQL service bound to its port, ready to serve.
pub struct FlightSql {
    address: SocketAddr,
    gate: Arc<Gate>,
    incoming: TcpIncoming,
    router: tonic::transport::server::Router,
}

impl FlightSql {
    /// Checks the options and binds the port; `None` when no port is asked for. Without
    /// `credentials` (no `--users`), anyone may query, so only a loopback bind is allowed.
    pub async fn bind(
        options: &FlightSqlOptions,
        credentials: Option<Arc<Credentials>>,
        scheduler: Scheduler,
        config: &SchedulerConfig,
    ) -> Result<Option<FlightSql>, FlightSqlError> {
        if options.flight_sql_port == 0 {
            return Ok(None);
        }
        let address = SocketAddr::new(options.flight_sql_bind_host, options.flight_sql_port);
        let authenticator: Arc<dyn Authenticator> = match credentials {
            Some(credentials) => Arc::new(PasswordAuthenticator::new(credentials)),
            None if address.ip().is_loopback() => {
                tracing::warn!(%address, "Flight SQL without --users: anyone on this host can query");
                Arc::new(AnonymousAuthenticator)
            }
            None => return Err(FlightSqlError::NeedsUsers(address)),
        };

        let (decoding, encoding) = (
            config.grpc_server_max_decoding_message_size as usize,
            config.grpc_server_max_encoding_message_size as usize,
        );
        let proxy = BallistaFlightProxyService::new(
            decoding,
            encoding,
            config.use_tls,
            config
                .override_create_grpc_client_endpoint
                .clone()
                .map(|f| Arc::new(BallistaConfigGrpcEndpoint::new(f))),
        );
        let backend = Arc::new(ArdentBackend::new(scheduler));
        let frontend = BallistaFlightSqlService::new(Arc::clone(&backend), proxy.clone())
            .with_authenticator(authenticator);
        let gate = Arc::new(Gate::new(
            frontend,
            backend,
            proxy,
            Duration::from_secs(options.session_idle_seconds),
        ));

        let mut server = Server::builder();
        if let Some(tls) = tls_config(options)? {
            server = server
                .tls_config(tls)
                .map_err(|e| FlightSqlError::Tls(e.to_string()))?;
        }
        let router = server.add_service(
            FlightServiceServer::from_arc(Arc::clone(&gate))
                .max_decoding_message_size(decoding)
                .max_encoding_message_size(encoding),
        );
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| FlightSqlError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| FlightSqlError::Bind { address, source })?;
        Ok(Some(FlightSql {
            address,
            gate,
            incoming: TcpIncoming::from(listener),
            router,
        }))
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its live sessions, for the web UI.
    pub fn sessions(&self) -> Sessions {
        Sessions(Arc::clone(&self.gate))
    }

    /// Serves until the server fails.
    pub async fn serve(self) -> Result<(), FlightSqlError> {
        let address = self.address;
        self.router
            .serve_with_incoming(self.incoming)
            .await
            .map_err(|e| FlightSqlError::Stopped {
                address,
                message: e.to_string(),
            })
    }
}

fn tls_config(options: &FlightSqlOptions) -> Result<Option<ServerTlsConfig>, FlightSqlError> {
    let (Some(cert), Some(key)) = (&options.tls_cert, &options.tls_key) else {
        return Ok(None);
    };
    let identity = Identity::from_pem(
        read_pem("the TLS certificate", cert)?,
        read_pem("the TLS key", key)?,
    );
    let mut tls = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &options.tls_client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read_pem("the client CA", ca)?));
    }
    Ok(Some(tls))
}

fn read_pem(what: &'static str, path: &Path) -> Result<Vec<u8>, FlightSqlError> {
    std::fs::read(path).map_err(|source| FlightSqlError::ReadPem {
        what,
        path: path.display().to_string(),
        source,
    })
}
