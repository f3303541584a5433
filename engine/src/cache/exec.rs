//! `CacheScanExec`: reading a cache's partitions, from the store, from the executor that holds
//! them, or by computing them from the cache's plan.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_datafusion_err, internal_err, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use super::store::{Lookup, PartitionKey, PartitionStore};
use super::Storage;
use crate::provider::{index_table, read_indices, RasterScanExec};

/// Where one partition of a cache was when its scan was planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionState {
    /// Not held anywhere known: the reading process's store is asked, else it is computed.
    New,
    /// Held by an executor, whose Arrow Flight service serves it.
    Held {
        executor: String,
        host: String,
        port: u16,
    },
    /// Held once by an executor that is gone: reading it computes it again.
    Lost,
}

/// Everything a cache scan needs, planned once: what travels to the executors.
#[derive(Debug)]
pub struct CacheScan {
    /// The cache's name, for display and errors.
    pub name: String,
    /// The key its partitions are stored under (the cache's id and source digest).
    pub key: String,
    pub storage: Storage,
    /// The cache's plan, planned with the partitioning recorded when the cache was made.
    pub lineage: Arc<dyn ExecutionPlan>,
    /// One per partition of `lineage`.
    pub states: Vec<PartitionState>,
}

/// The scan of a cached table.
///
/// The cache's plan (its lineage) is a field, not a child: Ballista must not cut it into
/// stages of its own, since a partition is computed whole, in the task that reads it, only when
/// no store holds it. As with [`RasterScanExec`], the one child is a small in-memory table of
/// partition indices through which Ballista hands each task its partitions.
#[derive(Debug)]
pub struct CacheScanExec {
    scan: Arc<CacheScan>,
    partitions: Arc<dyn ExecutionPlan>,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// The column of the partition table.
const PARTITION_INDEX: &str = "partition";

impl CacheScanExec {
    /// The scan of every partition of `scan`, yielding the columns `projection` picks.
    pub fn try_new(scan: CacheScan, projection: Option<Vec<usize>>) -> Result<Self> {
        if scan.states.len() != scan.lineage.output_partitioning().partition_count() {
            return internal_err!(
                "cache '{}' has {} partitions but {} partition states",
                scan.name,
                scan.lineage.output_partitioning().partition_count(),
                scan.states.len()
            );
        }
        let partitions = index_table(PARTITION_INDEX, &vec![1; scan.states.len()])?;
        Self::try_from_parts(Arc::new(scan), projection, partitions)
    }

    /// Rebuilds a scan from its parts (what travels to executors).
    pub fn try_from_parts(
        scan: Arc<CacheScan>,
        projection: Option<Vec<usize>>,
        partitions: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let full = scan.lineage.schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions.output_partitioning().partition_count()),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(Self {
            scan,
            partitions,
            projection,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    pub fn scan(&self) -> &Arc<CacheScan> {
        &self.scan
    }

    pub fn projection(&self) -> Option<&[usize]> {
        self.projection.as_deref()
    }
}

impl DisplayAs for CacheScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let s = &self.scan;
        let held = s
            .states
            .iter()
            .filter(|p| matches!(p, PartitionState::Held { .. }))
            .count();
        let lost = s
            .states
            .iter()
            .filter(|p| matches!(p, PartitionState::Lost))
            .count();
        match t {
            DisplayFormatType::TreeRender => {
                write!(f, "cache={}\npartitions={}", s.name, s.states.len())
            }
            _ => write!(
                f,
                "CacheScanExec: cache={}, storage={}, partitions={}, held={held}, lost={lost}",
                s.name,
                s.storage,
                s.states.len()
            ),
        }
    }
}

/// What one partition's read did, as the scan's metrics.
struct ReadCounters {
    hits: Count,
    fetched: Count,
    computed: Count,
    recomputed: Count,
}

impl ExecutionPlan for CacheScanExec {
    fn name(&self) -> &str {
        "CacheScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.partitions]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match children.as_slice() {
            [partitions] if Arc::ptr_eq(partitions, &self.partitions) => Ok(self),
            [partitions] => Ok(Arc::new(Self::try_from_parts(
                Arc::clone(&self.scan),
                self.projection.clone(),
                Arc::clone(partitions),
            )?)),
            _ => internal_err!("CacheScanExec needs one partition table"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut indices = self.partitions.execute(partition, Arc::clone(&context))?;
        let scan = Arc::clone(&self.scan);
        let projection = self.projection.clone();
        let counter =
            |name: &'static str| MetricBuilder::new(&self.metrics).counter(name, partition);
        let counters = ReadCounters {
            hits: counter("cache_hits"),
            fetched: counter("partitions_fetched"),
            computed: counter("partitions_computed"),
            recomputed: counter("partitions_recomputed"),
        };
        let output_rows = MetricBuilder::new(&self.metrics).output_rows(partition);
        let read = async move {
            let mut out = Vec::new();
            for i in read_indices(&mut indices).await? {
                for batch in scan.read(i as usize, &context, &counters).await? {
                    let batch = match &projection {
                        Some(p) => batch.project(p)?,
                        None => batch,
                    };
                    output_rows.add(batch.num_rows());
                    out.push(Ok(batch));
                }
            }
            Ok::<_, datafusion::error::DataFusionError>(futures::stream::iter(out))
        };
        let stream = futures::stream::once(read).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream.boxed(),
        )))
    }

    /// The scan's own counters, plus the raster scans' `files_opened`, `windows_read` and
    /// `bytes_read` of the lineage when partitions were computed: a read served by the cache
    /// shows zero there.
    fn metrics(&self) -> Option<MetricsSet> {
        let mut set = self.metrics.clone_inner();
        let mut stack = vec![Arc::clone(&self.scan.lineage)];
        while let Some(node) = stack.pop() {
            if node.downcast_ref::<RasterScanExec>().is_some() {
                for metric in node.metrics().iter().flat_map(|m| m.iter()) {
                    if matches!(
                        metric.value().name(),
                        "files_opened" | "windows_read" | "bytes_read"
                    ) {
                        set.push(Arc::clone(metric));
                    }
                }
            }
            stack.extend(node.children().into_iter().cloned());
        }
        Some(set)
    }
}

/// One lock per partition being read, so that concurrent readers of a partition no store holds
/// compute it once: the others wait and find it in the store.
fn partition_lock(key: &PartitionKey) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PartitionKey, Arc<tokio::sync::Mutex<()>>>>> =
        OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // Locks nobody waits on are dropped, so the map stays as small as the reads in progress.
    locks.retain(|_, lock| Arc::strong_count(lock) > 1);
    Arc::clone(locks.entry(key.clone()).or_default())
}

/// Runs store calls (which may read or write spill files) on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, super::CacheError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal_datafusion_err!("cache store task failed: {e}"))?
        .map_err(Into::into)
}

impl CacheScan {
    /// Partition `i` of the cache: from this process's store, else from the executor holding
    /// it, else computed from the lineage (and kept in this process's store).
    async fn read(
        &self,
        i: usize,
        context: &Arc<TaskContext>,
        counters: &ReadCounters,
    ) -> Result<Vec<RecordBatch>> {
        let state = self.states.get(i).ok_or_else(|| {
            internal_datafusion_err!("cache '{}' has no partition {i}", self.name)
        })?;
        let key = PartitionKey {
            cache: self.key.clone(),
            partition: i,
        };
        let lock = partition_lock(&key);
        let _computing = lock.lock().await;
        let store = PartitionStore::global();
        let lookup = {
            let key = key.clone();
            blocking(move || store.get(&key)).await?
        };
        let mut again = match lookup {
            Lookup::Hit(batches) => {
                counters.hits.add(1);
                return Ok(batches);
            }
            Lookup::Evicted => true,
            Lookup::Absent => matches!(state, PartitionState::Lost),
        };
        if let PartitionState::Held {
            executor,
            host,
            port,
        } = state
        {
            match super::flight::fetch_partition(host, *port, &key).await {
                Ok(Some(batches)) => {
                    counters.fetched.add(1);
                    return Ok(batches);
                }
                Ok(None) => {
                    tracing::info!(cache = %self.name, partition = i, %executor, "holder no longer has the partition: computing it");
                }
                Err(e) => {
                    tracing::warn!(cache = %self.name, partition = i, %executor, error = %e, "cannot fetch the partition from its holder: computing it");
                }
            }
            again = true;
        }
        let stream = self.lineage.execute(i, Arc::clone(context))?;
        let batches: Vec<RecordBatch> = stream
            .try_collect()
            .await
            .map_err(|e| e.context(format!("computing partition {i} of cache '{}'", self.name)))?;
        if again {
            store.note_recompute(&self.key);
            counters.recomputed.add(1);
        } else {
            counters.computed.add(1);
        }
        let storage = self.storage;
        let schema = self.lineage.schema();
        let kept = batches.clone();
        store.note_name(&self.key, &self.name);
        let placement = blocking(move || store.put(key, storage, schema, kept)).await?;
        tracing::debug!(cache = %self.name, partition = i, ?placement, "partition computed");
        Ok(batches)
    }
}
