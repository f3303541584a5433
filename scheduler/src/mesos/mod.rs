//! The scheduler as an Apache Mesos framework, placing executors as Docker containers on the
//! agents of its offers, as lcmap-spark's Spark did. Built so far, each in its room:
//!
//! - [`proto`]: the Mesos v1 types, generated from Mesos' own protos, and Mesos' JSON for them;
//! - [`recordio`]: the framing of the master's event stream;
//! - [`constraints`]: Spark's `spark.mesos.constraints` on agent attributes;
//! - [`offers`]: which executors to launch from each offer, and which offers to decline.
//!
//! The connection to the master (subscription, calls, TLS) and the framework's event loop come
//! next, over these.

pub mod constraints;
pub mod offers;
pub mod proto;
pub mod recordio;
