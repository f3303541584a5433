//! `ardent-bench`: ardent against the tools it replaces, on the same inputs and the same cores.
//!
//! Each workload prepares its inputs once (a synthetic ARD stack, its pixels and observations
//! exported to Parquet, TPC-H tables from `tpchgen-cli`), times ardent in local mode and on a
//! cluster in this process, runs the baselines (pyccd on a process pool, a rasterio + numpy
//! script, Apache Spark) as Python programs that time themselves, checks that every engine gave
//! the same answer, and adds a section to the [`report::Report`].
//!
//! The modules: [`measure`] (warm-up and medians), [`ardent`] (sessions, the one-host cluster,
//! results as text), [`baseline`] (the Python programs in `benches/baselines`), [`answers`]
//! (comparing answers), [`machine`] (what ran where), [`workloads`] and [`report`] (JSON,
//! markdown, PNG charts).

#![forbid(unsafe_code)]

pub mod answers;
pub mod ardent;
pub mod baseline;
pub mod machine;
pub mod measure;
pub mod report;
pub mod workloads;

/// A harness error: one message naming the workload, engine or file at fault.
pub type Result<T> = std::result::Result<T, String>;
