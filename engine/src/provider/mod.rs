//! The RASTER table provider: a catalogued stack exposed as a partitioned table in the `pixels` or
//! `observations` layout, with projection and filter pushdown.
//!
//! ```no_run
//! # async fn example() -> datafusion::error::Result<()> {
//! use std::sync::Arc;
//! use ardent_engine::provider::{RasterOptions, RasterTable};
//! let ctx = ardent_engine::session::local_session(None);
//! let table = RasterTable::try_new("/data/h003v008", RasterOptions::default()).await?;
//! ctx.register_table("ard", Arc::new(table))?;
//! ctx.sql("SELECT count(*) FROM ard").await?.show().await?;
//! # Ok(()) }
//! ```

mod columns;
mod exec;
mod options;
mod pushdown;
mod read;

pub use columns::{schema_of, table_columns, Column};
pub(crate) use exec::{index_table, read_indices};
pub use exec::{ChipTask, RasterScanExec, ScanPlan};
pub use options::{Layout, RasterOptions, OPTION_KEYS};
pub use pushdown::{Range, ScanBounds};

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{plan_err, Result, Statistics};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;

use crate::ard::Band;
use crate::catalog::{Acquisition, Stack, TileStack};
use crate::location::Location;

/// A raster tile stack as a table.
#[derive(Debug, Clone)]
pub struct RasterTable {
    stack: Arc<Stack>,
    options: RasterOptions,
    columns: Vec<Column>,
    schema: SchemaRef,
}

impl RasterTable {
    /// Catalogs the stack at `location` (a folder, `file://` or `s3://` URL) and checks its grid.
    pub async fn try_new(location: &str, options: RasterOptions) -> Result<Self> {
        let parsed = Location::parse(location, &options.s3)?;
        let stack = Stack::open(&parsed, options.manifest.as_deref(), &options.selection()).await?;
        Self::from_stack(Arc::new(stack), options)
    }

    /// A table over an already catalogued stack.
    pub fn from_stack(stack: Arc<Stack>, options: RasterOptions) -> Result<Self> {
        let bands: Vec<Band> = match &options.bands {
            None => stack.bands.clone(),
            Some(wanted) => {
                if let Some(missing) = wanted.iter().find(|b| !stack.bands.contains(b)) {
                    let present: Vec<&str> = stack.bands.iter().map(|b| b.name()).collect();
                    return plan_err!(
                        "band '{missing}' is not in the stack at '{}' (it has: {})",
                        stack.location,
                        present.join(", ")
                    );
                }
                wanted.clone()
            }
        };
        let columns = table_columns(options.layout, &bands);
        let schema = schema_of(&columns, options.layout, stack.collection);
        Ok(Self {
            stack,
            options,
            columns,
            schema,
        })
    }

    pub fn stack(&self) -> &Arc<Stack> {
        &self.stack
    }

    pub fn options(&self) -> &RasterOptions {
        &self.options
    }

    /// Plans a scan: which chips, acquisitions and columns, in how many partitions. With a
    /// `limit`, chips stop once they hold that many rows (the rows of a chip are known: its
    /// pixels, times its acquisitions in the `observations` layout).
    pub fn plan_scan(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
        target_partitions: usize,
    ) -> ScanPlan {
        let layout = self.options.layout;
        let bounds = ScanBounds::from_filters(filters, layout);
        let columns = match projection {
            Some(p) => p.iter().map(|&i| self.columns[i]).collect(),
            None => self.columns.clone(),
        };
        let selection = self.options.selection();
        let in_dates = |d: i32| selection.keeps_date(d) && bounds.date.contains(i64::from(d));
        let read_bands: Vec<Band> = columns
            .iter()
            .filter_map(|c| match c {
                Column::Band(b) => Some(*b),
                _ => None,
            })
            .collect();
        // The scan carries only what it reads: the tiles with chips to read, their acquisitions
        // in the dates, the files of the bands projected. Chips index the pruned tiles.
        let mut tiles = Vec::new();
        let mut chips = Vec::new();
        let mut chips_total = 0;
        let mut acquisitions_total = 0;
        let mut rows_planned = 0;
        for tile in &self.stack.tiles {
            acquisitions_total += tile.acquisitions.len();
            let all = tile.grid.chips(self.options.chip_size);
            chips_total += all.len();
            let limit_reached = limit.is_some_and(|l| rows_planned >= l);
            if limit_reached || !bounds.allows_tile(&tile.tile) {
                continue;
            }
            let rows_per_pixel = match layout {
                Layout::Pixels => 1,
                Layout::Observations => tile
                    .acquisitions
                    .iter()
                    .filter(|a| in_dates(a.date))
                    .count(),
            };
            let (cols, rows) = bounds.pixel_ranges(&tile.grid);
            let index = tiles.len();
            let before = chips.len();
            for chip in all {
                if limit.is_some_and(|l| rows_planned >= l) {
                    break;
                }
                let (chip_x, chip_y) = (
                    tile.grid.x_of(chip.col) as i64,
                    tile.grid.y_of(chip.row) as i64,
                );
                if !bounds.chip_x.contains(chip_x) || !bounds.chip_y.contains(chip_y) {
                    continue;
                }
                if let Some(window) = chip.intersect(cols, rows) {
                    rows_planned += window.pixels() * rows_per_pixel;
                    chips.push(ChipTask {
                        tile: index,
                        chip_x,
                        chip_y,
                        window,
                    });
                }
            }
            if chips.len() > before {
                tiles.push(pruned_tile(tile, &in_dates, &read_bands));
            }
        }
        let per_partition = self
            .options
            .chips_per_partition
            .unwrap_or_else(|| chips.len().div_ceil(target_partitions.max(1)))
            .max(1);
        ScanPlan {
            stack: Arc::new(Stack {
                location: self.stack.location.clone(),
                collection: self.stack.collection,
                tiles,
                bands: read_bands,
            }),
            layout,
            columns,
            chips,
            chips_per_partition: per_partition,
            batch_pixels: self.options.batch_pixels,
            pushed: bounds.to_string(),
            chips_total,
            acquisitions_total,
        }
    }
}

/// A tile with only the acquisitions in a scan's dates and the files of the bands it reads.
fn pruned_tile(tile: &TileStack, in_dates: &dyn Fn(i32) -> bool, bands: &[Band]) -> TileStack {
    TileStack {
        tile: tile.tile.clone(),
        grid: tile.grid.clone(),
        acquisitions: tile
            .acquisitions
            .iter()
            .filter(|a| in_dates(a.date))
            .map(|a| Acquisition {
                date: a.date,
                sensor: a.sensor.clone(),
                files: a
                    .files
                    .iter()
                    .filter(|(band, _)| bands.contains(band))
                    .map(|(band, path)| (*band, path.clone()))
                    .collect(),
            })
            .collect(),
    }
}

#[async_trait]
impl TableProvider for RasterTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// The exact row count: the stack's pixels, times its acquisitions in the table's dates in the
    /// `observations` layout.
    fn statistics(&self) -> Option<Statistics> {
        let selection = self.options.selection();
        let rows = self
            .stack
            .tiles
            .iter()
            .map(|t| {
                let per_pixel = match self.options.layout {
                    Layout::Pixels => 1,
                    Layout::Observations => t
                        .acquisitions
                        .iter()
                        .filter(|a| selection.keeps_date(a.date))
                        .count(),
                };
                t.grid.width * t.grid.height * per_pixel
            })
            .sum();
        Some(Statistics::new_unknown(&self.schema).with_num_rows(Precision::Exact(rows)))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.plan_scan(
            projection,
            filters,
            limit,
            state.config().target_partitions(),
        );
        Ok(Arc::new(RasterScanExec::try_new(plan)?))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| ScanBounds::support(f, self.options.layout))
            .collect())
    }
}
