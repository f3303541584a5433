//! Chip assembly: windowed reads of a partition's files straight into Arrow buffers.
//!
//! A partition opens each file it needs once and keeps it open across its chips. Chips are read in
//! strips of rows, so a record batch holds a bounded number of pixels (`pixels` layout) or
//! observations (`observations` layout), never a whole partition. A partition may read its files
//! on several threads (see [`PartitionReader::new`]).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, ArrowPrimitiveType, AsArray, Date32Array, Int32Array, Int64Array, ListArray,
    PrimitiveArray, RecordBatch, RecordBatchOptions, StringArray,
};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{Field, Int16Type, SchemaRef, UInt16Type};
use datafusion::common::{exec_datafusion_err, internal_datafusion_err, DataFusionError, Result};
use datafusion::physical_plan::metrics::{Count, Time};

use crate::ard::Band;
use crate::gdal_io::{RasterFile, Sample};
use crate::grid::Window;

use super::columns::Column;
use super::exec::{ChipTask, ScanPlan};
use super::Layout;

/// Counters a reader keeps, reported as the scan's metrics.
#[derive(Clone, Debug)]
pub(crate) struct ReadCounters {
    pub files_opened: Count,
    pub windows_read: Count,
    /// Bytes of pixel values read from the files.
    pub bytes_read: Count,
    /// Time spent reading and assembling, not waiting for the consumer.
    pub elapsed_compute: Time,
}

/// Open files by (tile index, acquisition index, band).
type OpenFiles = HashMap<(usize, usize, Band), RasterFile>;

/// A thread's share of a band read: acquisitions (indices) and the windows they are read into.
type Windows<'a, T> = Vec<(usize, &'a mut [T])>;

/// Reads the chips of one partition.
pub(crate) struct PartitionReader {
    plan: Arc<ScanPlan>,
    schema: SchemaRef,
    /// The open files, one shard per reading thread: acquisition `a`'s in shard `a % shards`.
    shards: Vec<OpenFiles>,
    counters: ReadCounters,
    /// Target rows of an `observations` batch.
    batch_size: usize,
}

impl PartitionReader {
    /// A reader whose band reads are spread over `threads` threads, each opening and reading
    /// its own share of the acquisitions: a stack's reading is mostly a cost per file (opening
    /// it, decoding its blocks), which a scan of fewer partitions than cores (a small stack, a
    /// single chip) would otherwise pay on one core.
    pub fn new(
        plan: Arc<ScanPlan>,
        schema: SchemaRef,
        counters: ReadCounters,
        batch_size: usize,
        threads: usize,
    ) -> Self {
        Self {
            plan,
            schema,
            shards: (0..threads.max(1)).map(|_| OpenFiles::new()).collect(),
            counters,
            batch_size: batch_size.max(1),
        }
    }

    /// Reads one chip, handing each batch to `emit`; stops early (returning false) when `emit`
    /// returns false because nobody wants more.
    pub fn read_chip(
        &mut self,
        task: &ChipTask,
        emit: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> Result<bool> {
        let w = task.window;
        let n_acq = self.plan.stack.tiles[task.tile].acquisitions.len();
        if n_acq == 0 && self.plan.layout == Layout::Observations {
            return Ok(true); // no observation left after the date filters
        }
        let (strip_rows, acq_per_batch) = match self.plan.layout {
            Layout::Pixels => (self.plan.batch_pixels / w.width, n_acq.max(1)),
            Layout::Observations => {
                let rows = self.batch_size / w.width;
                (rows, (self.batch_size / (rows.max(1) * w.width)).max(1))
            }
        };
        let strip_rows = strip_rows.clamp(1, w.height);
        for row in (w.row..w.row + w.height).step_by(strip_rows) {
            let strip = Window {
                row,
                height: strip_rows.min(w.row + w.height - row),
                ..w
            };
            for first in (0..n_acq.max(1)).step_by(acq_per_batch) {
                let acqs = first..(first + acq_per_batch).min(n_acq);
                let elapsed = self.counters.elapsed_compute.clone();
                let timer = elapsed.timer();
                let batch = self.strip_batch(task, strip, acqs)?;
                timer.done();
                if !emit(batch) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// One batch: the pixels of `strip` with acquisitions `selected` (indices into the tile's
    /// acquisitions, which the plan already cut to the scan's dates).
    fn strip_batch(
        &mut self,
        task: &ChipTask,
        strip: Window,
        selected: Range<usize>,
    ) -> Result<RecordBatch> {
        let plan = Arc::clone(&self.plan);
        let tile = &plan.stack.tiles[task.tile];
        let n_px = strip.pixels();
        // Rows of an observations batch are acquisition-major: each acquisition's pixels in turn.
        let repeat = match plan.layout {
            Layout::Pixels => 1,
            Layout::Observations => selected.len(),
        };
        let pixel_rows = || {
            (strip.row..strip.row + strip.height)
                .flat_map(move |r| (0..strip.width).map(move |c| (r, strip.col + c)))
        };
        let ids = |f: &dyn Fn(usize, usize) -> i64| -> Vec<i64> {
            let one: Vec<i64> = pixel_rows().map(|(r, c)| f(r, c)).collect();
            one.repeat(repeat)
        };
        let list_offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(selected.len(), n_px));
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(plan.columns.len());
        for column in &plan.columns {
            let array: ArrayRef = match *column {
                Column::Tile => {
                    Arc::new(StringArray::from(vec![tile.tile.as_str(); n_px * repeat]))
                }
                Column::ChipX => Arc::new(Int64Array::from(vec![task.chip_x; n_px * repeat])),
                Column::ChipY => Arc::new(Int64Array::from(vec![task.chip_y; n_px * repeat])),
                Column::Px => Arc::new(Int64Array::from(ids(&|_, c| tile.grid.x_of(c) as i64))),
                Column::Py => Arc::new(Int64Array::from(ids(&|r, _| tile.grid.y_of(r) as i64))),
                Column::Row => Arc::new(Int32Array::from_iter_values(
                    ids(&|r, _| r as i64).into_iter().map(|v| v as i32),
                )),
                Column::Col => Arc::new(Int32Array::from_iter_values(
                    ids(&|_, c| c as i64).into_iter().map(|v| v as i32),
                )),
                Column::Date => {
                    Arc::new(Date32Array::from_iter_values(selected.clone().flat_map(
                        |a| std::iter::repeat_n(tile.acquisitions[a].date, n_px),
                    )))
                }
                Column::Dates => {
                    let dates: Vec<i32> = selected
                        .clone()
                        .map(|a| tile.acquisitions[a].date)
                        .collect();
                    let values = Date32Array::from(dates.repeat(n_px));
                    list(column, list_offsets.clone(), Arc::new(values))?
                }
                Column::Band(band) => {
                    let collection = plan.stack.collection;
                    let values = if band.is_qa() {
                        self.read_band::<UInt16Type>(task.tile, selected.clone(), band, strip)?
                    } else if collection.stores_digital_numbers() {
                        let stored =
                            self.read_band::<UInt16Type>(task.tile, selected.clone(), band, strip)?;
                        let decoded: PrimitiveArray<Int16Type> = stored
                            .as_primitive::<UInt16Type>()
                            .unary(|v| collection.decode(band, v));
                        Arc::new(decoded)
                    } else {
                        self.read_band::<Int16Type>(task.tile, selected.clone(), band, strip)?
                    };
                    match plan.layout {
                        Layout::Pixels => list(column, list_offsets.clone(), values)?,
                        Layout::Observations => values,
                    }
                }
            };
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(n_px * repeat));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            arrays,
            &options,
        )?)
    }

    /// Reads `band` of the selected acquisitions over `strip`. For the `pixels` layout the values
    /// are interleaved pixel-major (each pixel's series contiguous, as its list needs); for
    /// `observations` the acquisitions' windows follow one another.
    fn read_band<A: ArrowPrimitiveType>(
        &mut self,
        tile: usize,
        selected: Range<usize>,
        band: Band,
        strip: Window,
    ) -> Result<ArrayRef>
    where
        A::Native: Sample,
    {
        let n_px = strip.pixels();
        let n_acq = selected.len();
        let mut windows = vec![A::Native::default(); n_px * n_acq];
        // Each thread reads its shard's acquisitions straight into their windows.
        let mut jobs: Vec<Windows<A::Native>> = self.shards.iter().map(|_| Vec::new()).collect();
        for (acq, window) in selected.zip(windows.chunks_mut(n_px.max(1))) {
            jobs[acq % self.shards.len()].push((acq, window));
        }
        let read = |(files, jobs): (&mut OpenFiles, Windows<A::Native>)| {
            jobs.into_iter().try_for_each(|(acq, window)| {
                open(&self.plan, files, &self.counters, (tile, acq, band))?
                    .read_window(strip, window)?;
                self.counters.windows_read.add(1);
                self.counters.bytes_read.add(n_px * size_of::<A::Native>());
                Ok::<_, DataFusionError>(())
            })
        };
        let read = &read;
        let mut shards = self.shards.iter_mut().zip(jobs);
        let first = shards.next().expect("a reader has a shard");
        std::thread::scope(|scope| {
            let others: Vec<_> = shards
                .filter(|(_, jobs)| !jobs.is_empty())
                .map(|job| scope.spawn(move || read(job)))
                .collect();
            read(first)?;
            others.into_iter().try_for_each(|t| {
                t.join()
                    .map_err(|_| internal_datafusion_err!("a raster read thread panicked"))?
            })
        })?;
        let values = if self.plan.layout == Layout::Pixels {
            let mut values = vec![A::Native::default(); n_px * n_acq];
            for (k, window) in windows.chunks_exact(n_px.max(1)).enumerate() {
                for (p, v) in window.iter().enumerate() {
                    values[p * n_acq + k] = *v;
                }
            }
            values
        } else {
            windows
        };
        Ok(Arc::new(PrimitiveArray::<A>::new(
            ScalarBuffer::from(values),
            None,
        )))
    }
}

/// The open file of a band of an acquisition (`key`: tile index, acquisition index, band),
/// opened on first use into `files` and checked against the grid the catalog recorded.
///
/// A partition keeps its files open, so each is opened once. When the process nears its
/// open-file budget (many partitions reading at once), the reader lets go of these files first
/// and reopens them as needed: slower, but never "too many open files".
fn open<'f>(
    plan: &ScanPlan,
    files: &'f mut OpenFiles,
    counters: &ReadCounters,
    key: (usize, usize, Band),
) -> Result<&'f RasterFile> {
    let (tile, acq, band) = key;
    if !files.contains_key(&key) {
        if crate::gdal_io::open_files() >= crate::gdal_io::open_file_budget() {
            files.clear();
        }
        let tile_stack = &plan.stack.tiles[tile];
        let path = tile_stack.acquisitions[acq]
            .files
            .get(&band)
            .ok_or_else(|| {
                exec_datafusion_err!("band '{band}' has no file in tile {}", tile_stack.tile)
            })?;
        // Scans may run on executors: say where a file could not be opened.
        let file = RasterFile::open(path).map_err(|e| {
            exec_datafusion_err!("{e} (reading on {})", crate::gdal_io::process_description())
        })?;
        // The CRS was checked when the stack was catalogued; size and transform are cheap.
        if let Some(difference) = tile_stack
            .grid
            .layout_difference_from(&file.transform()?, file.size())
        {
            return Err(exec_datafusion_err!(
                "raster file '{path}' changed since the table was created: {difference}"
            ));
        }
        counters.files_opened.add(1);
        files.insert(key, file);
    }
    Ok(&files[&key])
}

fn list(column: &Column, offsets: OffsetBuffer<i32>, values: ArrayRef) -> Result<ArrayRef> {
    let field = Field::new_list_field(values.data_type().clone(), true);
    ListArray::try_new(Arc::new(field), offsets, values, None)
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| exec_datafusion_err!("assembling column '{}': {e}", column.name()))
}
