//! Caching of intermediate results across queries.
//!
//! This module holds the part that every process of a deployment shares: the storage levels a
//! cache is kept at ([`Storage`]), byte sizes as users write them ([`parse_bytes`]), and the
//! process's [`store::PartitionStore`], which keeps cached partitions in memory within a budget,
//! spills them to compressed Arrow IPC files beyond it and evicts the least recently used ones.
//! [`statement`] recognizes the cache's SQL (`CACHE TABLE`, `UNCACHE TABLE`, `CLEAR CACHE`,
//! `REFRESH TABLE`, `SHOW CACHES`) and its options. Running those statements, the cached table
//! and its scan, and the cluster's registry of which executor holds which partition are to be
//! built on these (issue 13).

pub mod control;
pub mod exec;
pub mod fingerprint;
pub mod flight;
pub mod locate;
pub mod run;
pub mod statement;
pub mod store;
pub mod table;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a cache keeps its partitions, as Spark's storage levels.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// In memory only: a partition evicted from memory is dropped and recomputed from the
    /// cache's plan when next read.
    Memory,
    /// In memory, spilled to the cache directory when memory runs short (the default).
    #[default]
    MemoryAndDisk,
    /// On disk only, as compressed Arrow IPC files.
    Disk,
}

impl Storage {
    /// The names `OPTIONS ('storage' ...)` accepts.
    pub const NAMES: [&'static str; 3] = ["memory", "memory_and_disk", "disk"];
}

impl FromStr for Storage {
    type Err = CacheError;

    /// ardent's names, and Spark's storage levels for those who bring their SQL along.
    ///
    /// ```
    /// use ardent_engine::cache::Storage;
    /// assert_eq!("memory_and_disk".parse::<Storage>().unwrap(), Storage::MemoryAndDisk);
    /// assert_eq!("DISK_ONLY".parse::<Storage>().unwrap(), Storage::Disk);
    /// assert!("ram".parse::<Storage>().unwrap_err().to_string().contains("memory_and_disk"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "memory" | "memory_only" => Ok(Storage::Memory),
            "memory_and_disk" => Ok(Storage::MemoryAndDisk),
            "disk" | "disk_only" => Ok(Storage::Disk),
            _ => Err(CacheError::Option {
                option: "storage".to_string(),
                value: s.to_string(),
                expected: Storage::NAMES.join(", "),
            }),
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Storage::Memory => "memory",
            Storage::MemoryAndDisk => "memory_and_disk",
            Storage::Disk => "disk",
        })
    }
}

/// Why a cache could not be made, read or kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    #[error("invalid value '{value}' for cache option '{option}': expected {expected}")]
    Option {
        option: String,
        value: String,
        expected: String,
    },
    #[error("cannot read the cache statement '{statement}': {message}")]
    Syntax { statement: String, message: String },
    #[error("cache file '{}': {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("cannot cache '{name}': a table or view of that name exists; CACHE TABLE {name} caches it, or choose another name")]
    Exists { name: String },
    #[error("'{name}' is already cached; UNCACHE TABLE {name} first, or REFRESH TABLE {name} to recompute it")]
    AlreadyCached { name: String },
    #[error("no table or view named '{name}'")]
    Unknown { name: String },
    #[error("'{name}' is not cached")]
    NotCached { name: String },
    #[error("cache '{name}' is stale: {change}; REFRESH TABLE {name} recomputes it (or cache it with OPTIONS ('on_change' 'refresh'))")]
    Stale { name: String, change: String },
}

impl From<CacheError> for datafusion::error::DataFusionError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::File { .. } => datafusion::error::DataFusionError::Execution(e.to_string()),
            _ => datafusion::error::DataFusionError::Plan(e.to_string()),
        }
    }
}

datafusion::common::config_namespace! {
    /// The process's cache budgets, as session settings in local mode (`SET
    /// ardent.cache.memory_limit = '2G'`; see [`crate::session::ArdentConfig`]). Executors take
    /// theirs from their flags (`--cache-memory-limit`, `--cache-disk-limit`, `--cache-dir`).
    pub struct CacheConfig {
        /// Bytes of cached partitions kept in memory (default: a quarter of RAM).
        pub memory_limit: Option<String>, default = None
        /// Bytes of spill files kept on disk (default: no limit).
        pub disk_limit: Option<String>, default = None
        /// Where spill files go (default: a folder of the process's own in the temporary
        /// directory).
        pub dir: Option<String>, default = None
    }
}

impl CacheConfig {
    /// The store's limits with these settings applied over the defaults.
    pub fn limits(&self) -> Result<store::StoreLimits, CacheError> {
        limits_over_defaults(
            ("ardent.cache.memory_limit", self.memory_limit.as_deref()),
            ("ardent.cache.disk_limit", self.disk_limit.as_deref()),
            self.dir
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
        )
    }

    /// Applies a session's settings, when it has set any, to the process's store (one store
    /// a process: the last settings applied hold for every session of the process).
    pub fn apply(config: &datafusion::prelude::SessionConfig) -> Result<(), CacheError> {
        let Some(settings) = config
            .options()
            .extensions
            .get::<crate::session::ArdentConfig>()
            .map(|a| &a.cache)
        else {
            return Ok(());
        };
        if settings.memory_limit.is_none()
            && settings.disk_limit.is_none()
            && settings.dir.is_none()
        {
            return Ok(());
        }
        store::PartitionStore::global().set_limits(settings.limits()?)
    }
}

/// An executor's cache flags (each also read from `ARDENT_EXECUTOR_CACHE_*`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CacheFlags {
    /// Bytes of cached partitions kept in memory, such as 4G (default: a quarter of RAM).
    #[arg(long)]
    pub cache_memory_limit: Option<String>,
    /// Bytes of cache spill files kept on disk, such as 100G (default: no limit).
    #[arg(long)]
    pub cache_disk_limit: Option<String>,
    /// Where cache spill files go: outside Ballista's work dir, which Ballista cleans
    /// (default: a folder of the process's own in the temporary directory).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

impl CacheFlags {
    /// The store's limits these flags ask for.
    pub fn limits(&self) -> Result<store::StoreLimits, CacheError> {
        limits_over_defaults(
            ("--cache-memory-limit", self.cache_memory_limit.as_deref()),
            ("--cache-disk-limit", self.cache_disk_limit.as_deref()),
            self.cache_dir.clone(),
        )
    }
}

/// The default limits with the given sizes (each named by its setting, for errors) and folder.
fn limits_over_defaults(
    memory: (&str, Option<&str>),
    disk: (&str, Option<&str>),
    dir: Option<PathBuf>,
) -> Result<store::StoreLimits, CacheError> {
    let mut limits = store::StoreLimits::default();
    if let (option, Some(text)) = memory {
        limits.memory = parse_bytes(option, text)?;
    }
    if let (option, Some(text)) = disk {
        limits.disk = parse_bytes(option, text)?;
    }
    if let Some(dir) = dir {
        limits.dir = dir;
    }
    Ok(limits)
}

/// A byte size as users write it: `1048576`, `512M`, `2G`, `1.5GiB`, `64kb` (powers of 1024).
///
/// ```
/// use ardent_engine::cache::parse_bytes;
/// assert_eq!(parse_bytes("ardent.cache.memory_limit", "512M").unwrap(), 512 << 20);
/// assert_eq!(parse_bytes("ardent.cache.memory_limit", "1.5GiB").unwrap(), 3 << 29);
/// assert!(parse_bytes("ardent.cache.memory_limit", "lots").is_err());
/// ```
pub fn parse_bytes(option: &str, text: &str) -> Result<u64, CacheError> {
    let invalid = || CacheError::Option {
        option: option.to_string(),
        value: text.to_string(),
        expected: "a size such as 1073741824, 512M, 2G or 1.5GiB".to_string(),
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(invalid()),
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as u64)
}
