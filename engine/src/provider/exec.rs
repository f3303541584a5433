//! `RasterScanExec`: the physical scan of a raster table, one partition per group of chips.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_datafusion_err, internal_err, Result, Statistics};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;

use crate::catalog::Stack;
use crate::grid::Window;
use crate::progress::ScanProgress;

use super::columns::{schema_of, Column};
use super::read::{PartitionReader, ReadCounters};
use super::Layout;

/// One chip (or the part of it the filters allow) to read.
#[derive(Clone, Debug, PartialEq)]
pub struct ChipTask {
    /// Index of the tile in the scan's stack.
    pub tile: usize,
    pub chip_x: i64,
    pub chip_y: i64,
    pub window: Window,
}

/// Everything a scan needs to run, planned once. Its stack holds only what the scan reads (the
/// tiles with chips, their acquisitions in the scan's dates, the files of the bands it projects),
/// so a plan sent to executors grows with the scan, not with the catalogue. It travels as
/// [`crate::distributed`]'s versioned wire messages.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanPlan {
    pub stack: Arc<Stack>,
    pub layout: Layout,
    /// Output columns, in order.
    pub columns: Vec<Column>,
    /// The chips to read, in order.
    pub chips: Vec<ChipTask>,
    /// How many consecutive chips make up a partition as planned.
    pub chips_per_partition: usize,
    pub batch_pixels: usize,
    /// The pushed filters, for display.
    pub pushed: String,
    /// Chips and acquisitions of the table before pruning, for display.
    pub chips_total: usize,
    pub acquisitions_total: usize,
}

impl ScanPlan {
    /// The chips of each partition as planned (at least one partition, maybe empty).
    pub fn partitions(&self) -> Vec<&[ChipTask]> {
        if self.chips.is_empty() {
            return vec![&[]];
        }
        self.chips.chunks(self.chips_per_partition.max(1)).collect()
    }

    /// The rows the scan yields for `chips`: one per pixel, or one per pixel and acquisition in
    /// the `observations` layout.
    pub fn rows(&self, chips: &[ChipTask]) -> usize {
        chips
            .iter()
            .map(|c| {
                let per_pixel = match self.layout {
                    Layout::Pixels => 1,
                    Layout::Observations => self.stack.tiles[c.tile].acquisitions.len(),
                };
                c.window.pixels() * per_pixel
            })
            .sum()
    }

    /// Files the scan will open: for each chip's tile, one per selected acquisition and band read.
    pub fn files_to_open(&self) -> usize {
        let bands = self
            .columns
            .iter()
            .filter(|c| matches!(c, Column::Band(_)))
            .count();
        // A file is opened once per partition that reads its tile.
        self.partitions()
            .iter()
            .map(|p| {
                let mut t: Vec<usize> = p.iter().map(|c| c.tile).collect();
                t.sort();
                t.dedup();
                t.iter()
                    .map(|&t| self.stack.tiles[t].acquisitions.len() * bands)
                    .sum::<usize>()
            })
            .sum()
    }
}

/// The physical scan of a raster table.
///
/// Which chips each partition reads comes from its one child, a small in-memory table of chip
/// indices into the [`ScanPlan`] (one partition per scan partition). Ballista hands each task
/// only its own partitions of a stage by slicing the stage's leaves, and it knows how to slice
/// an in-memory table but not a custom leaf: a scan that were a leaf itself would make every
/// task read every partition.
#[derive(Debug)]
pub struct RasterScanExec {
    plan: Arc<ScanPlan>,
    chips: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// The column of the chip table: an index into [`ScanPlan::chips`].
const CHIP_INDEX: &str = "chip";

/// An in-memory table of one `UInt32` column `column`, whose partition *k* holds the next
/// `sizes[k]` consecutive indices from 0: the child through which Ballista hands a scan's
/// partitions to its tasks (see [`RasterScanExec`]).
pub(crate) fn index_table(column: &str, sizes: &[usize]) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        column,
        DataType::UInt32,
        false,
    )]));
    let mut first = 0u32;
    let partitions = sizes
        .iter()
        .map(|&n| {
            let n = n as u32;
            let indices = UInt32Array::from_iter_values(first..first + n);
            first += n;
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(indices)])?;
            Ok(vec![batch])
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MemorySourceConfig::try_new_exec(&partitions, schema, None)?)
}

/// Every index one partition of an [`index_table`] holds.
pub(crate) async fn read_indices(stream: &mut SendableRecordBatchStream) -> Result<Vec<u32>> {
    let mut all = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let indices = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt32Array>()
            .ok_or_else(|| internal_datafusion_err!("index table of the wrong type"))?;
        all.extend_from_slice(indices.values());
    }
    Ok(all)
}

impl RasterScanExec {
    /// The Arrow bytes of one row of the output from `tile`: each column's value, a list as
    /// long as the tile's acquisitions (those the scan reads).
    fn row_bytes(&self, tile: usize) -> usize {
        let acquisitions = self.plan.stack.tiles[tile].acquisitions.len();
        let width = |t: &DataType| t.primitive_width().unwrap_or(8);
        self.schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::List(item) | DataType::LargeList(item) => {
                    width(item.data_type()) * acquisitions
                }
                t => width(t),
            })
            .sum()
    }

    /// The scan with its chips assigned to partitions as planned.
    pub fn try_new(plan: ScanPlan) -> Result<Self> {
        let sizes: Vec<usize> = plan.partitions().iter().map(|chips| chips.len()).collect();
        let chips = index_table(CHIP_INDEX, &sizes)?;
        Ok(Self::with_chips(Arc::new(plan), chips))
    }

    /// The scan reading, in each partition, the chips the child's same partition names.
    fn with_chips(plan: Arc<ScanPlan>, chips: Arc<dyn ExecutionPlan>) -> Self {
        let schema = schema_of(&plan.columns, plan.layout, plan.stack.collection);
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(
                chips.properties().output_partitioning().partition_count(),
            ),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            plan,
            chips,
            schema,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// Rebuilds a scan from its plan and chip table (what travels to executors).
    pub fn try_from_parts(plan: ScanPlan, children: &[Arc<dyn ExecutionPlan>]) -> Result<Self> {
        match children {
            [chips] => Ok(Self::with_chips(Arc::new(plan), Arc::clone(chips))),
            _ => internal_err!(
                "RasterScanExec needs one chip table, got {}",
                children.len()
            ),
        }
    }

    pub fn plan(&self) -> &ScanPlan {
        &self.plan
    }
}

impl DisplayAs for RasterScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let p = &self.plan;
        let acquisitions: usize = p.stack.tiles.iter().map(|t| t.acquisitions.len()).sum();
        let available = p.acquisitions_total;
        let bands: Vec<&str> = p
            .columns
            .iter()
            .filter(|c| matches!(c, Column::Band(_)))
            .map(|c| c.name())
            .collect();
        match t {
            DisplayFormatType::TreeRender => write!(
                f,
                "layout={}\nchips={}\nfiles={}",
                p.layout,
                p.chips.len(),
                p.files_to_open()
            ),
            _ => write!(
                f,
                "RasterScanExec: location={}, layout={}, chips={}/{}, acquisitions={acquisitions}/{available}, \
                 bands=[{}], files={}, partitions={}, pushed=[{}]",
                p.stack.location,
                p.layout,
                p.chips.len(),
                p.chips_total,
                bands.join(", "),
                p.files_to_open(),
                self.properties.partitioning.partition_count(),
                p.pushed
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
        vec![&self.chips]
    }

    /// The chip table is tiny: spreading it over more partitions would only add exchanges.
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
            [chips] if Arc::ptr_eq(chips, &self.chips) => Ok(self),
            _ => Ok(Arc::new(Self::try_from_parts(
                self.plan.as_ref().clone(),
                &children,
            )?)),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut chip_indices = self.chips.execute(partition, Arc::clone(&context))?;
        let plan = Arc::clone(&self.plan);
        let progress = context.session_config().get_extension::<ScanProgress>();
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let counters = ReadCounters {
            files_opened: MetricBuilder::new(&self.metrics).counter("files_opened", partition),
            windows_read: MetricBuilder::new(&self.metrics).counter("windows_read", partition),
            bytes_read: MetricBuilder::new(&self.metrics).counter("bytes_read", partition),
            elapsed_compute: baseline.elapsed_compute().clone(),
        };
        // Cores the scan's partitions leave idle read files for them.
        let partitions = self.properties.partitioning.partition_count().max(1);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (context.session_config().target_partitions() / partitions).clamp(1, cores);
        let mut reader = PartitionReader::new(
            Arc::clone(&plan),
            Arc::clone(&self.schema),
            counters,
            context.session_config().batch_size(),
            threads,
        );
        let mut builder = RecordBatchReceiverStreamBuilder::new(Arc::clone(&self.schema), 2);
        let tx = builder.tx();
        builder.spawn(async move {
            let mut chips = Vec::new();
            for i in read_indices(&mut chip_indices).await? {
                let chip = plan.chips.get(i as usize).ok_or_else(|| {
                    internal_datafusion_err!("chip {i} is not in the scan's plan")
                })?;
                chips.push(chip.clone());
            }
            if let Some(p) = &progress {
                p.add_total(chips.len() as u64);
            }
            // GDAL reads block, so the chips are read on a blocking thread feeding a bounded channel.
            let read = tokio::task::spawn_blocking(move || {
                for chip in &chips {
                    let mut emit = |batch: RecordBatch| {
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
            read.await
                .map_err(|e| internal_datafusion_err!("raster read task failed: {e}"))?
        });
        Ok(builder.build())
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    /// The row count is exact, for the scan and for each partition, and their size in memory
    /// estimated; nothing is known of values. The size matters to joins: the planner builds
    /// the hash table from the smaller side, and without it would take a stack's pixels (often
    /// the larger side by far) when the row counts tie, as they do when a stack is joined with
    /// a table of results per pixel.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let partitions = self.plan.partitions();
        let chips = match args.partition() {
            None => &self.plan.chips[..],
            Some(k) => match partitions.get(k) {
                Some(chips) => chips,
                None => {
                    return internal_err!(
                        "RasterScanExec has {} partitions, not {}",
                        partitions.len(),
                        k + 1
                    )
                }
            },
        };
        let bytes: usize = chips
            .iter()
            .map(|c| self.plan.rows(std::slice::from_ref(c)) * self.row_bytes(c.tile))
            .sum();
        Ok(Arc::new(
            Statistics::new_unknown(&self.schema)
                .with_num_rows(Precision::Exact(self.plan.rows(chips)))
                .with_total_byte_size(Precision::Inexact(bytes)),
        ))
    }
}
