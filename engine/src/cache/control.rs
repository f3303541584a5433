//! Cache operations that must happen where plans are planned: in this process in local mode,
//! on the scheduler for a `df://` client (whose plans the scheduler plans).
//!
//! An operation is a table, [`CacheControlTable`], whose scan performs it and yields its answer
//! as one row. Reading it through the session runs it in the right process in every mode, with
//! no RPC of ardent's own between client and scheduler: the table travels in the plan like any
//! other (see `crate::distributed::codec`).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{internal_datafusion_err, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::logical_expr::{Expr, LogicalPlan, TableType};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion::prelude::SessionContext;

use super::fingerprint::Fingerprint;
use super::locate::locator;
use super::table::plan_lineage;

/// One operation on the caches of the process that plans.
#[derive(Clone, Debug)]
pub enum ControlOp {
    /// Reads the fingerprint of a lineage's sources and how many partitions it plans to.
    Prepare {
        lineage: LogicalPlan,
        target_partitions: usize,
    },
    /// Drops every partition of a cache, wherever held.
    Drop { id: String },
    /// What every process holding caches holds.
    Inventory,
}

/// The table whose scan performs a [`ControlOp`]. See the [module docs](self).
#[derive(Debug)]
pub struct CacheControlTable {
    op: ControlOp,
}

/// The answer's one column: JSON, whose shape depends on the operation.
const ANSWER: &str = "answer";

impl CacheControlTable {
    pub fn new(op: ControlOp) -> Self {
        Self { op }
    }

    pub fn op(&self) -> &ControlOp {
        &self.op
    }

    async fn answer(&self, session: &dyn Session) -> Result<String> {
        match &self.op {
            ControlOp::Prepare {
                lineage,
                target_partitions,
            } => {
                let fingerprint = Fingerprint::of(lineage).await?;
                let plan = plan_lineage(session, lineage, *target_partitions).await?;
                let prepared = Prepared {
                    partitions: plan.output_partitioning().partition_count(),
                    files: fingerprint.files,
                };
                to_json(&prepared)
            }
            ControlOp::Drop { id } => to_json(&locator().drop_cache(id).await?),
            ControlOp::Inventory => to_json(&locator().inventories().await?),
        }
    }
}

/// The answer to [`ControlOp::Prepare`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Prepared {
    pub partitions: usize,
    pub files: std::collections::BTreeMap<String, String>,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| internal_datafusion_err!("cache control answer: {e}"))
}

fn answer_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(ANSWER, DataType::Utf8, false)]))
}

#[async_trait]
impl TableProvider for CacheControlTable {
    fn schema(&self) -> SchemaRef {
        answer_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    /// Performs the operation now, while the query is planned.
    async fn scan(
        &self,
        session: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let answer = self.answer(session).await?;
        let batch = RecordBatch::try_new(
            answer_schema(),
            vec![Arc::new(StringArray::from(vec![answer]))],
        )?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            answer_schema(),
            projection.cloned(),
        )?)
    }
}

/// Performs `op` through `ctx` (so on the scheduler when `ctx` is a cluster's) and reads its
/// JSON answer.
pub async fn perform<T: serde::de::DeserializeOwned>(
    ctx: &SessionContext,
    op: ControlOp,
) -> Result<T> {
    let batches = ctx
        .read_table(Arc::new(CacheControlTable::new(op)))?
        .collect()
        .await?;
    let column = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| Arc::clone(b.column(0)))
        .ok_or_else(|| internal_datafusion_err!("a cache operation gave no answer"))?;
    let text = column
        .as_any()
        .downcast_ref::<StringArray>()
        .filter(|a| !a.is_null(0))
        .map(|a| a.value(0).to_string())
        .ok_or_else(|| internal_datafusion_err!("a cache operation's answer is not text"))?;
    serde_json::from_str(&text)
        .map_err(|e| internal_datafusion_err!("cannot read a cache operation's answer: {e}"))
}
