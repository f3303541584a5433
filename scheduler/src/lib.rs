//! ardent's scheduler as a library: Ballista's scheduler built with ardent's extension codecs,
//! UDFs and RASTER table factory. The `ardent-scheduler` binary is thin wiring over it, as
//! Ballista's own `scheduler_process` is over its crate.
//!
//! One module per service of the scheduler. Today that is [`server`], Ballista's gRPC and REST
//! service; the coming Flight SQL service, Mesos framework and web UI take their own modules
//! beside it, each started from the same [`server::SchedulerOptions`].

#![forbid(unsafe_code)]

pub mod server;
