//! `CachedTable`: a cache as a table of the session.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{internal_datafusion_err, Result};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{Expr, LogicalPlan, TableType};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

use super::exec::{CacheScan, CacheScanExec};
use super::fingerprint::Fingerprint;
use super::locate::locator;
use super::statement::OnChange;
use super::{CacheConfig, CacheError, Storage};

/// What a cache is: its plan, how it is kept, and the sources it was made from.
#[derive(Clone, Debug)]
pub struct CacheDefinition {
    /// Unique for each `CACHE TABLE` (a refresh makes a new one): the prefix of its store keys.
    pub id: String,
    pub name: String,
    pub storage: Storage,
    pub on_change: OnChange,
    /// The plan its partitions are computed from (its lineage).
    pub lineage: LogicalPlan,
    /// The partitioning recorded when the cache was made: partition *k* is the same rows in
    /// every process and every later session.
    pub target_partitions: usize,
    /// Its partitions, as the planner found when the cache was made.
    pub partitions: usize,
    pub fingerprint: Fingerprint,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl CacheDefinition {
    pub fn lineage(&self) -> &LogicalPlan {
        &self.lineage
    }

    /// The key its partitions are stored under while its sources are as `fingerprint` says.
    pub fn key_for(&self, fingerprint: &Fingerprint) -> String {
        format!("{}.{}", self.id, fingerprint.digest())
    }
}

/// A cached table: reads go through [`CacheScanExec`], which serves stored partitions and
/// computes the others from the definition's lineage. Clones share their state.
#[derive(Clone, Debug)]
pub struct CachedTable {
    definition: Arc<CacheDefinition>,
    /// The table or view the name meant before it was cached, put back by `UNCACHE TABLE`.
    replaced: Option<Arc<dyn TableProvider>>,
    /// Set while `CACHE TABLE` fills it.
    filling: Arc<AtomicBool>,
}

impl CachedTable {
    pub fn new(definition: CacheDefinition, replaced: Option<Arc<dyn TableProvider>>) -> Self {
        Self {
            definition: Arc::new(definition),
            replaced,
            filling: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn definition(&self) -> &Arc<CacheDefinition> {
        &self.definition
    }

    pub fn replaced(&self) -> Option<&Arc<dyn TableProvider>> {
        self.replaced.as_ref()
    }

    pub fn is_filling(&self) -> bool {
        self.filling.load(Ordering::Relaxed)
    }

    pub(crate) fn set_filling(&self, filling: bool) {
        self.filling.store(filling, Ordering::Relaxed);
    }
}

/// The lineage of `definition` as a physical plan, with its recorded partitioning. Round-robin
/// repartitioning is off: it deals rows to partitions in arrival order, so a partition computed
/// again alone would not hold the same rows.
pub async fn plan_lineage(
    session: &dyn Session,
    lineage: &LogicalPlan,
    target_partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    let state = session
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| internal_datafusion_err!("a cache is planned in a DataFusion session"))?;
    // The planning state shares the session's catalogs: it must not make a default catalog,
    // which would replace the session's (and its tables) with an empty one.
    let mut config = state
        .config()
        .clone()
        .with_target_partitions(target_partitions.max(1))
        .with_create_default_catalog_and_schema(false);
    config
        .options_mut()
        .optimizer
        .enable_round_robin_repartition = false;
    let planning = SessionStateBuilder::new_from_existing(state.clone())
        .with_config(config)
        .build();
    planning.create_physical_plan(lineage).await
}

#[async_trait]
impl TableProvider for CachedTable {
    fn schema(&self) -> SchemaRef {
        Arc::new(self.definition.lineage.schema().as_arrow().clone())
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        None
    }

    /// Checks the sources, plans the lineage, and asks the process's locator where each
    /// partition is. Filters and limits are applied above the scan: a cache is read whole.
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        CacheConfig::apply(state.config())?;
        let d = &self.definition;
        let now = Fingerprint::of(&d.lineage).await?;
        if let Some(change) = d.fingerprint.first_change(&now) {
            match d.on_change {
                OnChange::Error => {
                    return Err(CacheError::Stale {
                        name: d.name.clone(),
                        change,
                    }
                    .into())
                }
                OnChange::Refresh => {
                    tracing::info!(cache = %d.name, %change, "sources changed: recomputing")
                }
            }
        }
        let key = d.key_for(&now);
        let lineage = plan_lineage(state, &d.lineage, d.target_partitions).await?;
        let partitions = lineage.output_partitioning().partition_count();
        let states = locator().locate(&d.id, &key, partitions).await?;
        let scan = CacheScan {
            name: d.name.clone(),
            key,
            storage: d.storage,
            lineage,
            states,
        };
        Ok(Arc::new(CacheScanExec::try_new(scan, projection.cloned())?))
    }
}
