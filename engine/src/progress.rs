//! Progress of raster scans, shared between the scans of a query and whoever displays it.
//!
//! The CLI installs a [`ScanProgress`] as a session config extension; every raster scan partition
//! adds its chips to the total when it starts and counts each chip it finishes.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of chips planned and read.
#[derive(Debug, Default)]
pub struct ScanProgress {
    total: AtomicU64,
    done: AtomicU64,
}

impl ScanProgress {
    pub fn add_total(&self, chips: u64) {
        self.total.fetch_add(chips, Ordering::Relaxed);
    }

    pub fn chip_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// `(chips done, chips planned)` so far.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}
