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
    ArrayRef, ArrowPrimitiveType, Date32Array, Int32Array, Int64Array, ListArray, PrimitiveArray,
    RecordBatch, RecordBatchOptions, StringArray,
};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{Field, Int16Type, SchemaRef, UInt16Type};
use datafusion::common::{exec_datafusion_err, internal_datafusion_err, DataFusionError, Result};
use datafusion::physical_plan::metrics::{Count, Time};

use crate::ard::Band;
use crate::gdal_io::{close_newest_first, RasterFile, Sample};
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

/// A file's key: tile index, acquisition index, band.
type FileKey = (usize, usize, Band);

/// Open files by key.
type OpenFiles = HashMap<FileKey, RasterFile>;

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
    ///
    /// Each file's blocks are decoded once per chip: GDAL keeps decoded blocks in a cache of
    /// bounded size, and a stack of decades (LCMAP's 36 years of Landsat: over 10,000 files a
    /// tile) holds more blocks than it, so reads that went round every file once per strip found
    /// none of them still cached and decoded every block again (a 36-year chip read 4x slower
    /// than its files' size gave). The `pixels` layout reads each file over the whole chip and
    /// builds its strips from those windows (the chip's values held in memory: 2 bytes per
    /// pixel, acquisition and band); the `observations` layout reads each acquisition's strips
    /// one after another.
    pub fn read_chip(
        &mut self,
        task: &ChipTask,
        emit: &mut dyn FnMut(RecordBatch) -> bool,
    ) -> Result<bool> {
        let w = task.window;
        let n_acq = self.plan.stack.tiles[task.tile].acquisitions.len();
        let strips = |rows: usize| {
            let rows = rows.clamp(1, w.height);
            (w.row..w.row + w.height)
                .step_by(rows)
                .map(move |row| Window {
                    row,
                    height: rows.min(w.row + w.height - row),
                    ..w
                })
        };
        let elapsed = self.counters.elapsed_compute.clone();
        match self.plan.layout {
            Layout::Pixels => {
                let chip = timed(&elapsed, || self.read_windows(task.tile, 0..n_acq, w))?;
                for strip in strips(self.plan.batch_pixels / w.width) {
                    let batch = timed(&elapsed, || {
                        self.strip_batch(task, strip, 0..n_acq, &mut |band| {
                            Ok(chip[&band].strip(w, strip, n_acq))
                        })
                    })?;
                    if !emit(batch) {
                        return Ok(false);
                    }
                }
            }
            Layout::Observations => {
                if n_acq == 0 {
                    return Ok(true); // no observation left after the date filters
                }
                let rows = (self.batch_size / w.width).max(1);
                let acq_per_batch = (self.batch_size / (rows * w.width)).max(1);
                for first in (0..n_acq).step_by(acq_per_batch) {
                    let acqs = first..(first + acq_per_batch).min(n_acq);
                    for strip in strips(rows) {
                        let batch = timed(&elapsed, || {
                            let mut windows = self.read_windows(task.tile, acqs.clone(), strip)?;
                            self.strip_batch(task, strip, acqs.clone(), &mut |band| {
                                Ok(windows.remove(&band).expect("every band read").into_array())
                            })
                        })?;
                        if !emit(batch) {
                            return Ok(false);
                        }
                    }
                }
            }
        }
        Ok(true)
    }

    /// One batch: the pixels of `strip` with acquisitions `selected` (indices into the tile's
    /// acquisitions, which the plan already cut to the scan's dates); `band_values` gives each
    /// band's values in the layout's order.
    fn strip_batch(
        &mut self,
        task: &ChipTask,
        strip: Window,
        selected: Range<usize>,
        band_values: &mut dyn FnMut(Band) -> Result<ArrayRef>,
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
                    let values = band_values(band)?;
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

    /// The windows over `window` of the selected acquisitions of every band the scan reads,
    /// in the table's units (Collection 2's stored numbers decoded).
    fn read_windows(
        &mut self,
        tile: usize,
        selected: Range<usize>,
        window: Window,
    ) -> Result<HashMap<Band, BandWindows>> {
        let plan = Arc::clone(&self.plan);
        let collection = plan.stack.collection;
        let mut bands = HashMap::new();
        for column in &plan.columns {
            let Column::Band(band) = *column else {
                continue;
            };
            let windows = if band.is_qa() {
                BandWindows::Qa(self.read_band(tile, selected.clone(), band, window)?)
            } else if collection.stores_digital_numbers() {
                let stored: Vec<u16> = self.read_band(tile, selected.clone(), band, window)?;
                BandWindows::Values(
                    stored
                        .into_iter()
                        .map(|v| collection.decode(band, v))
                        .collect(),
                )
            } else {
                BandWindows::Values(self.read_band(tile, selected.clone(), band, window)?)
            };
            bands.insert(band, windows);
        }
        Ok(bands)
    }

    /// Reads `band` of the selected acquisitions over `window`: the acquisitions' windows one
    /// after another.
    fn read_band<T: Sample>(
        &mut self,
        tile: usize,
        selected: Range<usize>,
        band: Band,
        window: Window,
    ) -> Result<Vec<T>> {
        let n_px = window.pixels();
        let mut windows = vec![T::default(); n_px * selected.len()];
        // Each thread reads its shard's acquisitions straight into their windows.
        let mut jobs: Vec<Windows<T>> = self.shards.iter().map(|_| Vec::new()).collect();
        for (acq, into) in selected.zip(windows.chunks_mut(n_px.max(1))) {
            jobs[acq % self.shards.len()].push((acq, into));
        }
        let read = |(files, jobs): (&mut OpenFiles, Windows<T>)| {
            jobs.into_iter().try_for_each(|(acq, into)| {
                open(&self.plan, files, &self.counters, (tile, acq, band))?
                    .read_window(window, into)?;
                self.counters.windows_read.add(1);
                self.counters.bytes_read.add(n_px * size_of::<T>());
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
        Ok(windows)
    }
}

/// A band's values over a window, one acquisition's window after another: QA as stored, the
/// other bands in Collection 1's units.
enum BandWindows {
    Qa(Vec<u16>),
    Values(Vec<i16>),
}

impl BandWindows {
    /// The values as they are: the `observations` layout's order.
    fn into_array(self) -> ArrayRef {
        match self {
            BandWindows::Qa(v) => Arc::new(PrimitiveArray::<UInt16Type>::from(v)),
            BandWindows::Values(v) => Arc::new(PrimitiveArray::<Int16Type>::from(v)),
        }
    }

    /// The values of `strip`, a band of rows of `chip` (the windows' extent), each pixel's
    /// `n_acq` values together: the `pixels` layout's order.
    fn strip(&self, chip: Window, strip: Window, n_acq: usize) -> ArrayRef {
        fn interleave<A: ArrowPrimitiveType>(
            windows: &[A::Native],
            chip: Window,
            strip: Window,
            n_acq: usize,
        ) -> ArrayRef {
            let first = (strip.row - chip.row) * chip.width;
            let n_px = strip.pixels();
            let mut values = vec![A::Native::default(); n_px * n_acq];
            for (k, window) in windows.chunks_exact(chip.pixels().max(1)).enumerate() {
                for (p, v) in window[first..first + n_px].iter().enumerate() {
                    values[p * n_acq + k] = *v;
                }
            }
            Arc::new(PrimitiveArray::<A>::new(ScalarBuffer::from(values), None))
        }
        match self {
            BandWindows::Qa(v) => interleave::<UInt16Type>(v, chip, strip, n_acq),
            BandWindows::Values(v) => interleave::<Int16Type>(v, chip, strip, n_acq),
        }
    }
}

impl Drop for PartitionReader {
    fn drop(&mut self) {
        // Every thread's files together: their streams are interleaved in glibc's list.
        let shards = self.shards.iter_mut();
        close_newest_first(shards.flat_map(|s| s.drain().map(|(_, f)| f)).collect());
    }
}

/// Runs `f`, adding its time to `elapsed`.
fn timed<T>(elapsed: &Time, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let timer = elapsed.timer();
    let result = f();
    timer.done();
    result
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
    key: FileKey,
) -> Result<&'f RasterFile> {
    let (tile, acq, band) = key;
    if !files.contains_key(&key) {
        if crate::gdal_io::open_files() >= crate::gdal_io::open_file_budget() {
            close_newest_first(files.drain().map(|(_, f)| f).collect());
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
