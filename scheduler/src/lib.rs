//! ardent's scheduler as a library: Ballista's scheduler built with ardent's extension codecs,
//! UDFs and RASTER table factory. The `ardent-scheduler` binary is thin wiring over it, as
//! Ballista's own `scheduler_process` is over its crate.
//!
//! One module per service of the scheduler: [`server`], Ballista's gRPC and REST service for
//! clients and executors on the cluster network, and [`flight_sql`], Arrow Flight SQL for Python,
//! Jupyter and JDBC on a port of its own. The coming Mesos framework and web UI take their own
//! modules beside them, each started from the same [`server::SchedulerOptions`].

#![forbid(unsafe_code)]

pub mod flight_sql;
pub mod server;
