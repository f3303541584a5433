//! Where a process that plans queries finds cached partitions: its own store (local mode), or
//! the executors of a cluster (the registry the scheduler installs).

use std::fmt;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::error::Result;

use super::exec::PartitionState;
use super::store::{CacheCounts, HeldPartition, PartitionStore};

/// The executor name local mode reports its own store under.
pub const LOCAL_EXECUTOR: &str = "local";

/// What one process (an executor, or the local session's own) holds and has counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inventory {
    pub partitions: Vec<HeldPartition>,
    /// Per cache key: hits and recomputations.
    pub counts: Vec<(String, CacheCounts)>,
    /// Per cache key: the cache's name.
    #[serde(default)]
    pub names: Vec<(String, String)>,
    /// The store's budgets and what they hold now.
    pub memory_limit: u64,
    pub disk_limit: u64,
    pub memory_used: u64,
    pub disk_used: u64,
}

impl Inventory {
    /// What `store` holds now.
    pub fn of(store: &PartitionStore) -> Self {
        let limits = store.limits();
        let (memory_used, disk_used) = store.usage();
        Self {
            partitions: store.held(),
            counts: store.counts_by_cache(),
            names: store.names(),
            memory_limit: limits.memory,
            disk_limit: limits.disk,
            memory_used,
            disk_used,
        }
    }
}

/// The partitions of caches, wherever the process that plans finds them.
#[async_trait]
pub trait CacheLocator: Send + Sync + fmt::Debug {
    /// Where each of the `partitions` partitions stored under `key` is. A cache's other keys
    /// (`id` with another source digest: results of sources since changed) are dropped.
    async fn locate(&self, id: &str, key: &str, partitions: usize) -> Result<Vec<PartitionState>>;

    /// Drops every partition of the cache `id`, wherever held; returns how many there were.
    async fn drop_cache(&self, id: &str) -> Result<usize>;

    /// What each process holding caches holds, by executor id.
    async fn inventories(&self) -> Result<Vec<(String, Inventory)>>;
}

/// Local mode: the process's own [`PartitionStore`], which the scan asks itself.
#[derive(Debug, Default)]
pub struct LocalLocator;

#[async_trait]
impl CacheLocator for LocalLocator {
    async fn locate(&self, id: &str, key: &str, partitions: usize) -> Result<Vec<PartitionState>> {
        let generation = format!("{id}.");
        PartitionStore::global().remove_where(|k| k.starts_with(&generation) && k != key);
        Ok(vec![PartitionState::New; partitions])
    }

    async fn drop_cache(&self, id: &str) -> Result<usize> {
        Ok(PartitionStore::global().remove_cache(&format!("{id}.")))
    }

    async fn inventories(&self) -> Result<Vec<(String, Inventory)>> {
        Ok(vec![(
            LOCAL_EXECUTOR.to_string(),
            Inventory::of(PartitionStore::global()),
        )])
    }
}

static LOCATOR: OnceLock<Arc<dyn CacheLocator>> = OnceLock::new();

/// Makes `locator` the process's (the scheduler installs its registry at start-up); false when
/// one was already installed or used.
pub fn install(locator: Arc<dyn CacheLocator>) -> bool {
    LOCATOR.set(locator).is_ok()
}

/// The process's locator: the installed one, else the local store's.
pub fn locator() -> Arc<dyn CacheLocator> {
    Arc::clone(LOCATOR.get_or_init(|| Arc::new(LocalLocator)))
}
