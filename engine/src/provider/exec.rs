//! `RasterScanExec`: the physical scan of a raster table, one partition per group of chips.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use serde::{Deserialize, Serialize};

use crate::catalog::Stack;
use crate::grid::Window;
use crate::progress::ScanProgress;

use super::columns::{schema_of, Column};
use super::pushdown::ScanBounds;
use super::read::{PartitionReader, ReadCounters};
use super::Layout;

/// One chip (or the part of it the filters allow) to read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChipTask {
    /// Index of the tile in the stack.
    pub tile: usize,
    pub chip_x: i64,
    pub chip_y: i64,
    pub window: Window,
}

/// Everything a scan needs to run, planned once; serializable so it can travel to executors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanPlan {
    pub stack: Arc<Stack>,
    pub layout: Layout,
    /// Output columns, in order.
    pub columns: Vec<Column>,
    /// Chips of each partition.
    pub partitions: Vec<Vec<ChipTask>>,
    /// Per tile: indices of the acquisitions read, ascending by date.
    pub acquisitions: Vec<Vec<usize>>,
    pub batch_pixels: usize,
    /// The pushed filters, for display.
    pub bounds: ScanBounds,
    /// Chips of the stack before pruning, for display.
    pub chips_total: usize,
}

impl ScanPlan {
    /// Files the scan will open: for each chip's tile, one per selected acquisition and band read.
    pub fn files_to_open(&self) -> usize {
        let bands = self
            .columns
            .iter()
            .filter(|c| matches!(c, Column::Band(_)))
            .count();
        // A file is opened once per partition that reads its tile.
        self.partitions
            .iter()
            .map(|p| {
                let mut t: Vec<usize> = p.iter().map(|c| c.tile).collect();
                t.sort();
                t.dedup();
                t.iter()
                    .map(|&t| self.acquisitions[t].len() * bands)
                    .sum::<usize>()
            })
            .sum()
    }
}

/// The physical scan of a raster table.
#[derive(Debug)]
pub struct RasterScanExec {
    plan: Arc<ScanPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl RasterScanExec {
    pub fn new(plan: ScanPlan) -> Self {
        let schema = schema_of(&plan.columns, plan.layout);
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(plan.partitions.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            plan: Arc::new(plan),
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    pub fn plan(&self) -> &ScanPlan {
        &self.plan
    }
}

impl DisplayAs for RasterScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let p = &self.plan;
        let chips: usize = p.partitions.iter().map(Vec::len).sum();
        let acquisitions: usize = p.acquisitions.iter().map(Vec::len).sum();
        let available: usize = p.stack.tiles.iter().map(|t| t.acquisitions.len()).sum();
        let bands: Vec<&str> = p
            .columns
            .iter()
            .filter(|c| matches!(c, Column::Band(_)))
            .map(|c| c.name())
            .collect();
        match t {
            DisplayFormatType::TreeRender => write!(f, "layout={}\nchips={chips}\nfiles={}", p.layout, p.files_to_open()),
            _ => write!(
                f,
                "RasterScanExec: location={}, layout={}, chips={chips}/{}, acquisitions={acquisitions}/{available}, \
                 bands=[{}], files={}, partitions={}, pushed=[{}]",
                p.stack.location.display(),
                p.layout,
                p.chips_total,
                bands.join(", "),
                p.files_to_open(),
                p.partitions.len(),
                p.bounds
            ),
        }
    }
}

impl ExecutionPlan for RasterScanExec {
    fn name(&self) -> &str {
        "RasterScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let chips = self
            .plan
            .partitions
            .get(partition)
            .cloned()
            .unwrap_or_default();
        let progress = context.session_config().get_extension::<ScanProgress>();
        if let Some(p) = &progress {
            p.add_total(chips.len() as u64);
        }
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let counters = ReadCounters {
            files_opened: MetricBuilder::new(&self.metrics).counter("files_opened", partition),
            windows_read: MetricBuilder::new(&self.metrics).counter("windows_read", partition),
            elapsed_compute: baseline.elapsed_compute().clone(),
        };
        let mut reader = PartitionReader::new(
            Arc::clone(&self.plan),
            Arc::clone(&self.schema),
            counters,
            context.session_config().batch_size(),
        );
        let mut builder = RecordBatchReceiverStreamBuilder::new(Arc::clone(&self.schema), 2);
        let tx = builder.tx();
        // GDAL reads block, so the partition is read on a blocking thread feeding a bounded channel.
        builder.spawn_blocking(move || {
            for chip in &chips {
                let mut emit = |batch: datafusion::arrow::array::RecordBatch| {
                    baseline.record_output(batch.num_rows());
                    tx.blocking_send(Ok(batch)).is_ok()
                };
                let wanted = reader.read_chip(chip, &mut emit)?;
                if let Some(p) = &progress {
                    p.chip_done();
                }
                if !wanted {
                    break;
                }
            }
            baseline.done();
            Ok(())
        });
        Ok(builder.build())
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}
