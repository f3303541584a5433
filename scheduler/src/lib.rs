//! ardent's scheduler as a library: Ballista's scheduler built with ardent's extension codecs,
//! UDFs and RASTER table factory. The `ardent-scheduler` binary is thin wiring over it, as
//! Ballista's own `scheduler_process` is over its crate.
//!
//! One module per service of the scheduler: [`server`], Ballista's gRPC and REST service for
//! clients and executors on the cluster network, [`flight_sql`], Arrow Flight SQL for Python,
//! Jupyter and JDBC on a port of its own, [`ui`], the web UI on another, [`cache`], the
//! registry of the executors' cached partitions and the task placement that reads them where
//! they are, [`placements`], where each task was bound, [`recent`], the bounded record of the
//! newest jobs those keep facts in, and [`auth`], the users that Flight SQL and the UI share.
//! The Mesos framework, under way, takes its own module beside them, [`mesos`], to be started
//! from the same [`server::SchedulerOptions`].

#![forbid(unsafe_code)]

pub mod auth;
pub mod cache;
pub mod flight_sql;
pub mod mesos;
pub mod placements;
pub mod recent;
pub mod server;
pub mod ui;
