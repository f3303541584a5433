//! ardent's engine: Landsat ARD tile stacks as partitioned DataFusion tables, the session that
//! knows ardent's tables and UDFs, map output, and a synthetic ARD generator.
//!
//! The modules follow the data flow: [`location`] and [`catalog`] find and check a stack's files,
//! [`provider`] exposes it as a table whose scan reads chips through [`gdal_io`] (the only module
//! that touches GDAL), [`session`] builds the SessionContext for a master URL, and [`map`] writes
//! per-pixel results back onto the stack's grid.

pub mod ard;
pub mod cache;
pub mod catalog;
pub mod ccdc;
#[allow(unsafe_code)] // kill(2) of the processes it started
pub mod cluster;
pub mod distributed;
pub mod error;
pub mod functions;
#[allow(unsafe_code)] // GDAL and process limits: the engine's only FFI
pub mod gdal_io;
pub mod grid;
pub mod landcover;
pub mod location;
pub mod map;
pub mod output;
pub mod products;
pub mod progress;
pub mod provider;
pub mod session;
mod stac;
pub mod statements;
pub mod synth;
pub mod users;

/// Milliseconds since the Unix epoch, now (0 on a clock set before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
