//! The cluster's cache registry: which executor holds which partition of which cache, read
//! from the executors themselves, and the task placement that sends a cache's tasks to the
//! executor holding their partitions ([`placement`]).
//!
//! The executors' stores are the truth: the registry asks each registered executor for its
//! inventory (an Arrow Flight action) when a cache scan is planned, a cache dropped or
//! `SHOW CACHES` run, so an executor that is gone (killed, cut off, expired by Ballista) simply
//! stops answering and its partitions become lost, to be computed again by the tasks that read
//! them. The registry remembers which partitions it has ever seen held, to tell those lost
//! from the never computed and count their recomputation.

pub mod placement;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ardent_engine::cache::exec::PartitionState;
use ardent_engine::cache::flight::{drop_partitions, inventory};
use ardent_engine::cache::locate::{CacheLocator, Inventory};
use async_trait::async_trait;
use ballista_core::serde::scheduler::ExecutorMetadata;
use ballista_scheduler::state::SchedulerState;
use datafusion::error::{DataFusionError, Result};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use futures::future::join_all;

/// The scheduler's [`CacheLocator`]. See the [module docs](self).
pub struct CacheRegistry {
    state: Arc<SchedulerState<LogicalPlanNode, PhysicalPlanNode>>,
    /// Partitions seen held, per cache key, by any executor.
    seen: Mutex<HashMap<String, HashSet<usize>>>,
}

impl std::fmt::Debug for CacheRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheRegistry").finish_non_exhaustive()
    }
}

impl CacheRegistry {
    pub fn new(state: Arc<SchedulerState<LogicalPlanNode, PhysicalPlanNode>>) -> Self {
        Self {
            state,
            seen: Mutex::new(HashMap::new()),
        }
    }

    async fn executors(&self) -> Result<Vec<ExecutorMetadata>> {
        let executors = self
            .state
            .executor_manager
            .get_executors_state()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(executors.into_iter().map(|(m, _, _)| m).collect())
    }

    /// The inventories of the executors that answer; the others are taken as lost.
    async fn answering(&self) -> Result<Vec<(ExecutorMetadata, Inventory)>> {
        let executors = self.executors().await?;
        let asked = join_all(executors.into_iter().map(|m| async move {
            match inventory(&m.host, m.port).await {
                Ok(inventory) => Some((m, inventory)),
                Err(e) => {
                    tracing::warn!(executor = %m.id, error = %e, "executor does not answer for its cache");
                    None
                }
            }
        }))
        .await;
        Ok(asked.into_iter().flatten().collect())
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<usize>>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl CacheLocator for CacheRegistry {
    async fn locate(&self, id: &str, key: &str, partitions: usize) -> Result<Vec<PartitionState>> {
        let generation = format!("{id}.");
        let answering = self.answering().await?;
        let mut states = vec![PartitionState::New; partitions];
        let mut stale: Vec<(&ExecutorMetadata, String)> = Vec::new();
        for (m, inventory) in &answering {
            for p in &inventory.partitions {
                if p.key.cache == key && p.key.partition < partitions {
                    // Several executors may hold a partition (one fetched it after a loss):
                    // the first answering serves it.
                    if matches!(states[p.key.partition], PartitionState::New) {
                        states[p.key.partition] = PartitionState::Held {
                            executor: m.id.clone(),
                            host: m.host.clone(),
                            port: m.port,
                        };
                    }
                } else if p.key.cache.starts_with(&generation) {
                    stale.push((m, p.key.cache.clone()));
                }
            }
        }
        // Results of sources since changed: nobody reads them again.
        stale.sort_by(|a, b| (&a.0.id, &a.1).cmp(&(&b.0.id, &b.1)));
        stale.dedup_by(|a, b| a.0.id == b.0.id && a.1 == b.1);
        for (m, old) in stale {
            if let Err(e) = drop_partitions(&m.host, m.port, &old).await {
                tracing::warn!(executor = %m.id, cache = %old, error = %e, "cannot drop an old generation");
            }
        }
        let mut seen = self.seen();
        let ever = seen.entry(key.to_string()).or_default();
        for (p, state) in states.iter_mut().enumerate() {
            match state {
                PartitionState::Held { .. } => {
                    ever.insert(p);
                }
                _ if ever.contains(&p) => *state = PartitionState::Lost,
                _ => {}
            }
        }
        Ok(states)
    }

    async fn drop_cache(&self, id: &str) -> Result<usize> {
        let prefix = format!("{id}.");
        let executors = self.executors().await?;
        let dropped = join_all(executors.iter().map(|m| {
            let prefix = prefix.clone();
            async move {
                drop_partitions(&m.host, m.port, &prefix)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(executor = %m.id, error = %e, "cannot drop a cache's partitions");
                        0
                    })
            }
        }))
        .await;
        self.seen().retain(|key, _| !key.starts_with(&prefix));
        Ok(dropped.into_iter().sum())
    }

    async fn inventories(&self) -> Result<Vec<(String, Inventory)>> {
        let mut answering: Vec<(String, Inventory)> = self
            .answering()
            .await?
            .into_iter()
            .map(|(m, inventory)| (m.id, inventory))
            .collect();
        answering.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(answering)
    }
}
