//! Everything ardent does with GDAL, in one module: opening rasters, windowed reads into caller
//! buffers, writing GeoTIFFs, CRS comparison and object-store access settings. The rest of the
//! engine speaks ardent's own types ([`Grid`], [`Window`]) and never imports `gdal`.

use std::ffi::CString;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use gdal::raster::{GdalDataType, GdalType, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};

use crate::grid::{Grid, Window};

/// A GDAL failure, naming the file it concerns.
#[derive(Debug, Clone)]
pub struct RasterError {
    pub path: String,
    pub message: String,
}

impl RasterError {
    fn new(path: &str, message: impl fmt::Display) -> Self {
        Self {
            path: path.to_string(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for RasterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "raster file '{}': {}", self.path, self.message)
    }
}

impl std::error::Error for RasterError {}

impl From<RasterError> for datafusion::error::DataFusionError {
    fn from(e: RasterError) -> Self {
        datafusion::error::DataFusionError::Execution(e.to_string())
    }
}

pub type Result<T, E = RasterError> = std::result::Result<T, E>;

thread_local! {
    /// The last failure GDAL reported on this thread: with a custom error handler installed GDAL
    /// does not always keep it for `CPLGetLastErrorMsg`, and it is often the useful part.
    static LAST_FAILURE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// `error`, with GDAL's own last message on this thread when the error lacks it.
fn with_gdal_message(error: impl fmt::Display) -> String {
    let error = error.to_string();
    let last = LAST_FAILURE.with(|m| std::mem::take(&mut *m.borrow_mut()));
    if last.is_empty() || error.contains(&last) {
        error
    } else {
        format!("{last} ({error})")
    }
}

/// Where this process runs, for errors raised on executors: `host vm, process ardent-executor 42`.
pub fn process_description() -> String {
    let mut name = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer.
    let host = if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0 {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    } else {
        "unknown".into()
    };
    let program = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
    format!(
        "host {host}, process {} {}",
        program.trim(),
        std::process::id()
    )
}

/// One-time process setup: GDAL's messages go to `tracing`, directories are not listed on every
/// open (a stack folder holds thousands of files, and listing an S3 prefix per open is slow), and
/// the open-file limit is raised, since a partition keeps one dataset open per file it reads.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gdal::config::set_error_handler(|kind, code, message| match kind {
            gdal::errors::CplErrType::Warning => tracing::warn!(target: "gdal", code, "{message}"),
            gdal::errors::CplErrType::Debug | gdal::errors::CplErrType::None => {
                tracing::trace!(target: "gdal", code, "{message}")
            }
            // Failures come back to the caller as errors with the file named; log them quietly.
            _ => {
                tracing::debug!(target: "gdal", code, "{message}");
                LAST_FAILURE.with(|m| *m.borrow_mut() = message.to_string());
            }
        });
        for (key, value) in [
            ("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"),
            ("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif,.TIF,.tiff,.csv"),
        ] {
            if std::env::var_os(key).is_none() {
                let _ = gdal::config::set_config_option(key, value);
            }
        }
        raise_open_file_limit();
    });
}

/// Raster files open in this process now.
static OPEN_FILES: AtomicUsize = AtomicUsize::new(0);

/// Raster files opened so far in this process: each file's place in the order of opening.
static OPENED: AtomicU64 = AtomicU64::new(0);

/// The GDAL library's release name, e.g. `3.6.2`.
pub fn gdal_version() -> String {
    gdal::version::version_info("RELEASE_NAME")
}

/// Number of raster files open in this process.
pub fn open_files() -> usize {
    OPEN_FILES.load(Ordering::Relaxed)
}

/// How many raster files this process should keep open at most: 70% of its open-file limit,
/// leaving room for sockets, shuffle files and GDAL's own handles.
pub fn open_file_budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        init();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills a local struct.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        let current = if ok { limit.rlim_cur as usize } else { 1024 };
        (current.min(1 << 20) * 7 / 10).max(64)
    })
}

fn raise_open_file_limit() {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Sets GDAL options (e.g. `AWS_S3_ENDPOINT`) for every path under `prefix` (e.g. `/vsis3/bucket`),
/// so that different stacks can use different object stores in one process.
pub fn set_path_options(prefix: &str, options: &[(&str, String)]) -> Result<()> {
    init();
    let c = |s: &str| {
        CString::new(s).map_err(|_| RasterError::new(prefix, "option contains a NUL byte"))
    };
    let c_prefix = c(prefix)?;
    for (key, value) in options {
        let (k, v) = (c(key)?, c(value)?);
        // SAFETY: valid NUL-terminated strings that GDAL copies.
        unsafe { gdal_sys::VSISetPathSpecificOption(c_prefix.as_ptr(), k.as_ptr(), v.as_ptr()) };
    }
    Ok(())
}

/// Whether two WKT strings describe the same CRS.
pub fn same_crs(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (SpatialRef::from_wkt(a), SpatialRef::from_wkt(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The sample type of a single-band raster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleType {
    Int16,
    UInt16,
    Other,
}

/// An open raster file, read with windowed reads.
pub struct RasterFile {
    path: String,
    dataset: Dataset,
    /// Its place in the process's order of opening ([`close_newest_first`]).
    opened: u64,
}

/// Closes `files` newest first. glibc keeps the process's open streams in a list, newest first,
/// and closing one walks that list to it: closing thousands of files in another order (as a
/// map drops them) took time quadratic in their number, a quarter of a 36-year chip's read.
pub fn close_newest_first(mut files: Vec<RasterFile>) {
    files.sort_unstable_by_key(|f| std::cmp::Reverse(f.opened));
    // A vector drops its elements first to last.
    drop(files);
}

impl RasterFile {
    /// Opens a raster read-only. `path` is a local path or a GDAL virtual path (`/vsis3/...`).
    pub fn open(path: &str) -> Result<RasterFile> {
        init();
        let options = DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER
                | GdalOpenFlags::GDAL_OF_READONLY
                | GdalOpenFlags::GDAL_OF_VERBOSE_ERROR,
            ..Default::default()
        };
        let dataset = Dataset::open_ex(path, options).map_err(|e| {
            RasterError::new(path, format!("cannot open: {}", with_gdal_message(e)))
        })?;
        OPEN_FILES.fetch_add(1, Ordering::Relaxed);
        Ok(RasterFile {
            path: path.to_string(),
            dataset,
            opened: OPENED.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn band_count(&self) -> usize {
        self.dataset.raster_count()
    }

    /// The sample type of band 1.
    pub fn sample_type(&self) -> Result<SampleType> {
        let band = self
            .dataset
            .rasterband(1)
            .map_err(|e| RasterError::new(&self.path, e))?;
        Ok(match band.band_type() {
            GdalDataType::Int16 => SampleType::Int16,
            GdalDataType::UInt16 => SampleType::UInt16,
            _ => SampleType::Other,
        })
    }

    /// The file's pixel grid.
    pub fn grid(&self) -> Result<Grid> {
        let (width, height) = self.dataset.raster_size();
        Ok(Grid {
            crs_wkt: self.dataset.projection(),
            transform: self.transform()?,
            width,
            height,
        })
    }

    /// The geotransform alone. Cheaper than [`RasterFile::grid`]: GeoTIFF builds its CRS lazily,
    /// with PROJ database look-ups, which a scan re-checking a catalogued file does not need.
    pub fn transform(&self) -> Result<[f64; 6]> {
        self.dataset
            .geo_transform()
            .map_err(|e| RasterError::new(&self.path, format!("no geotransform: {e}")))
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (usize, usize) {
        self.dataset.raster_size()
    }

    /// Reads `window` of band 1 into `buf` (row-major, `window.pixels()` long), converting to `T`.
    pub fn read_window<T: Sample>(&self, window: Window, buf: &mut [T]) -> Result<()> {
        let band = self
            .dataset
            .rasterband(1)
            .map_err(|e| RasterError::new(&self.path, e))?;
        band.read_into_slice(
            (window.col as isize, window.row as isize),
            (window.width, window.height),
            (window.width, window.height),
            buf,
            None,
        )
        .map_err(|e| {
            RasterError::new(
                &self.path,
                format!(
                    "read of {}x{} pixels at column {}, row {} failed (corrupt or truncated file?): {}",
                    window.width,
                    window.height,
                    window.col,
                    window.row,
                    with_gdal_message(e)
                ),
            )
        })
    }
}

impl Drop for RasterFile {
    fn drop(&mut self) {
        OPEN_FILES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sample types ardent reads and writes.
pub trait Sample: GdalType + Copy + Default + Send + 'static {}
impl Sample for i16 {}
impl Sample for u16 {}
impl Sample for f32 {}
impl Sample for u8 {}

/// How a written GeoTIFF is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TiffLayout {
    /// Tiled and DEFLATE-compressed (GDAL's default 256 x 256 tiles), no overviews.
    Tiled,
    /// A cloud optimized GeoTIFF, as USGS ships Collection 2 ARD and LCMAP its products: 256 x 256
    /// tiles, DEFLATE, and overviews (nearest neighbour, so they hold real values) halving the
    /// size until it fits one tile.
    Cog,
}

/// Writes a single-band, tiled, DEFLATE-compressed GeoTIFF on `grid`.
///
/// The file is written under a temporary name beside `path` and renamed into place at the end, so a
/// failure never leaves a half-written file under the final name.
pub fn write_geotiff<T: Sample>(
    path: &Path,
    grid: &Grid,
    data: &[T],
    nodata: Option<f64>,
) -> Result<()> {
    write_raster(path, grid, data, nodata, TiffLayout::Tiled)
}

/// Writes a GeoTIFF laid out as `layout`; otherwise as [`write_geotiff`].
pub fn write_raster<T: Sample>(
    path: &Path,
    grid: &Grid,
    data: &[T],
    nodata: Option<f64>,
    layout: TiffLayout,
) -> Result<()> {
    init();
    let shown = path.display().to_string();
    if data.len() != grid.width * grid.height {
        return Err(RasterError::new(
            &shown,
            format!(
                "{} values for a {}x{} grid",
                data.len(),
                grid.width,
                grid.height
            ),
        ));
    }
    crate::output::write_atomically(path, |partial| {
        write_geotiff_to(partial, grid, data, nodata, layout)
    })
    .map_err(|e| RasterError::new(&shown, format!("cannot write: {}", e.reason)))
}

fn write_geotiff_to<T: Sample>(
    path: &Path,
    grid: &Grid,
    data: &[T],
    nodata: Option<f64>,
    layout: TiffLayout,
) -> Result<(), String> {
    let creation_options = |pairs: &[(&str, &str)]| {
        let mut options = RasterCreationOptions::new();
        for (k, v) in pairs {
            options.set_name_value(k, v).map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(options)
    };
    let compression = [("COMPRESS", "DEFLATE"), ("PREDICTOR", "2")];
    // The COG driver writes by copying a complete dataset (it orders tiles and overviews), so
    // a COG is assembled in memory first.
    let (driver, target, options) = match layout {
        TiffLayout::Tiled => {
            let mut pairs = vec![("TILED", "YES")];
            pairs.extend(compression);
            ("GTiff", path, creation_options(&pairs)?)
        }
        TiffLayout::Cog => ("MEM", Path::new(""), RasterCreationOptions::new()),
    };
    let driver = DriverManager::get_driver_by_name(driver).map_err(|e| e.to_string())?;
    let mut dataset = driver
        .create_with_band_type_with_options::<T, _>(target, grid.width, grid.height, 1, &options)
        .map_err(|e| e.to_string())?;
    dataset
        .set_geo_transform(&grid.transform)
        .map_err(|e| e.to_string())?;
    dataset
        .set_projection(&grid.crs_wkt)
        .map_err(|e| e.to_string())?;
    let mut band = dataset.rasterband(1).map_err(|e| e.to_string())?;
    band.set_no_data_value(nodata).map_err(|e| e.to_string())?;
    let mut buffer = gdal::raster::Buffer::new((grid.width, grid.height), data.to_vec());
    band.write((0, 0), (grid.width, grid.height), &mut buffer)
        .map_err(|e| e.to_string())?;
    if layout == TiffLayout::Cog {
        let mut pairs = vec![("BLOCKSIZE", "256"), ("OVERVIEW_RESAMPLING", "NEAREST")];
        pairs.extend(compression);
        let cog = DriverManager::get_driver_by_name("COG").map_err(|e| e.to_string())?;
        let copy = dataset
            .create_copy(&cog, path, &creation_options(&pairs)?)
            .map_err(|e| e.to_string())?;
        return copy.close().map_err(|e| e.to_string());
    }
    dataset.flush_cache().map_err(|e| e.to_string())?;
    dataset.close().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::ARD_CRS_WKT;
    use gdal::Metadata;

    #[test]
    fn writes_and_reads_windows_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tif");
        let grid = Grid::ard("h003v008".parse().unwrap(), 300, 260);
        let data: Vec<i16> = (0..300 * 260).map(|i| (i % 7000) as i16).collect();
        write_geotiff(&path, &grid, &data, Some(-9999.0)).unwrap();
        let file = RasterFile::open(path.to_str().unwrap()).unwrap();
        let read = file.grid().unwrap();
        assert!(grid.layout_difference(&read).is_none());
        assert!(same_crs(&read.crs_wkt, ARD_CRS_WKT));
        assert_eq!(file.sample_type().unwrap(), SampleType::Int16);
        let window = Window {
            col: 250,
            row: 255,
            width: 50,
            height: 5,
        };
        let mut buf = vec![0i16; window.pixels()];
        file.read_window(window, &mut buf).unwrap();
        assert_eq!(buf[0], data[255 * 300 + 250]);
        assert_eq!(buf[buf.len() - 1], data[259 * 300 + 299]);
        // No partial file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writes_cloud_optimized_geotiffs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.TIF");
        let grid = Grid::ard("h003v008".parse().unwrap(), 600, 520);
        let data: Vec<u16> = (0..600 * 520).map(|i| (i % 60000) as u16).collect();
        write_raster(&path, &grid, &data, Some(0.0), TiffLayout::Cog).unwrap();
        let dataset = Dataset::open(&path).unwrap();
        let layout = dataset.metadata_item("LAYOUT", "IMAGE_STRUCTURE");
        assert_eq!(layout.as_deref(), Some("COG"));
        let band = dataset.rasterband(1).unwrap();
        assert_eq!(band.block_size(), (256, 256));
        assert!(
            band.overview_count().unwrap() >= 1,
            "a 600 px COG has overviews"
        );
        assert_eq!(band.no_data_value(), Some(0.0));
        let file = RasterFile::open(path.to_str().unwrap()).unwrap();
        assert!(grid.layout_difference(&file.grid().unwrap()).is_none());
        let mut buf = vec![0u16; 10];
        let window = Window {
            col: 590,
            row: 519,
            width: 10,
            height: 1,
        };
        file.read_window(window, &mut buf).unwrap();
        assert_eq!(buf[9], data[519 * 600 + 599]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = RasterFile::open("/no/such/file.tif").err().unwrap();
        assert!(err.to_string().contains("/no/such/file.tif"), "{err}");
    }
}
