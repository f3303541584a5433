//! The scheduler as an Apache Mesos framework, placing executors as Docker containers on the
//! agents of its offers, as lcmap-spark's Spark did, over Mesos' v1 scheduler HTTP API:
//!
//! - [`options`]: the flags, after Spark's Mesos settings, and the settings they make;
//! - [`proto`]: the Mesos v1 types, generated from Mesos' own protos, and Mesos' JSON for them;
//! - [`recordio`]: the framing of the master's event stream;
//! - [`master`]: the connection to the leading master: subscription, calls, TLS, credentials;
//! - [`constraints`]: Spark's `spark.mesos.constraints` on agent attributes;
//! - [`offers`]: which executors to launch from each offer, and which offers to decline;
//! - [`task`]: the Docker task of one executor;
//! - [`framework`]: the event loop over all of these, started with [`FrameworkHandle::start`]
//!   for a [`Cluster`] (the scheduler, which it tells of executors that end).

pub mod constraints;
pub mod framework;
pub mod master;
pub mod offers;
pub mod options;
pub mod proto;
pub mod recordio;
pub mod task;

pub use framework::{Cluster, FrameworkHandle};
pub use options::{MesosOptions, Settings};

/// Why the framework could not start, or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MesosError {
    #[error("invalid {flag}: {reason}")]
    Option { flag: String, reason: String },
    #[error("cannot read the TLS file {file}: {reason}")]
    Tls { file: String, reason: String },
    #[error(
        "TLS with Mesos master {master} failed: {reason} (check --mesos-cert, --mesos-key and \
         --mesos-ca, or the files in /certs)"
    )]
    TlsHandshake { master: String, reason: String },
    #[error("Mesos master {master} cannot be reached: {reason}")]
    Unreachable { master: String, reason: String },
    #[error(
        "Mesos master {master} refused the framework's credentials (HTTP 401): {}",
        match principal {
            Some(p) => format!("check the secret of principal '{p}' (--mesos-principal, --mesos-secret)"),
            None => "it wants a principal and secret (--mesos-principal, --mesos-secret)".to_string(),
        }
    )]
    Unauthorized {
        master: String,
        principal: Option<String>,
    },
    #[error("Mesos master {master} refused {call} (HTTP {status}): {message}")]
    Refused {
        master: String,
        call: String,
        status: u16,
        message: String,
    },
    #[error("Mesos master {master} removed the framework: {message}")]
    Removed { master: String, message: String },
    #[error("Mesos master {master} broke the protocol: {reason}")]
    Protocol { master: String, reason: String },
    #[error("Mesos event stream: {0}")]
    Stream(#[from] recordio::RecordIoError),
    #[error("Mesos event stream: {0}")]
    Event(#[from] proto::JsonError),
}
