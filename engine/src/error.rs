//! The engine's typed errors, bridged to [`DataFusionError`] where DataFusion is the boundary:
//! cataloguing a stack is planning, so [`CatalogError`] becomes a planning error.

use datafusion::error::DataFusionError;

use crate::gdal_io::RasterError;

/// Why a stack could not be found, listed or catalogued. Each message names the location, file,
/// manifest line or tile at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("the stack location is empty: give a folder or an s3:// URL")]
    EmptyLocation,
    #[error("invalid location URL '{url}': {source}")]
    BadUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("invalid file URL '{0}'")]
    BadFileUrl(String),
    #[error("location '{0}' names no bucket")]
    NoBucket(String),
    #[error("unsupported location scheme '{scheme}://' in '{location}': use a local path, file:// or s3://")]
    UnsupportedScheme { scheme: String, location: String },
    #[error("stack location '{0}' does not exist")]
    Missing(String),
    #[error("stack location '{0}' is not a folder")]
    NotAFolder(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    ObjectStore {
        what: String,
        #[source]
        source: object_store::Error,
    },
    #[error("'{0}' is not UTF-8 text")]
    NotText(String),
    #[error(
        "no raster files found in '{0}': expected Landsat ARD GeoTIFFs \
         (e.g. LC08_CU_003008_20130411_20181202_C01_V01_SRB2.tif or \
         LC09_CU_003004_20230909_20230914_02_SR_B2.TIF) or a manifest.csv"
    )]
    NoRasterFiles(String),
    /// A file name that looks like ARD but is not a valid one.
    #[error(transparent)]
    ArdName(#[from] crate::ard::NameError),
    #[error("STAC file '{file}': {message}")]
    Stac { file: String, message: String },
    #[error("manifest '{manifest}'{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Manifest {
        manifest: String,
        line: Option<usize>,
        message: String,
    },
    #[error("two files for band '{band}' of one acquisition: '{first}' and '{second}'")]
    DuplicateBand {
        band: String,
        first: String,
        second: String,
    },
    #[error("acquisition {date} ({sensor}) of tile {tile} has no '{band}' file, though other acquisitions do")]
    MissingBand {
        date: String,
        sensor: String,
        tile: String,
        band: String,
    },
    #[error("raster file '{0}' is not north-up; ardent reads north-up grids only")]
    NotNorthUp(String),
    #[error(
        "grid mismatch in tile {tile}: raster file '{path}' has {difference} of '{reference}'"
    )]
    GridMismatch {
        tile: String,
        path: String,
        reference: String,
        difference: String,
    },
    #[error("raster file '{path}' has {count} bands; ARD stacks hold one band per file")]
    BandCount { path: String, count: usize },
    #[error("raster file '{path}' holds {found} samples, but band '{band}' is {expected}")]
    SampleType {
        path: String,
        found: String,
        band: String,
        expected: String,
    },
    #[error(
        "the stack mixes ARD collections: '{first}' is Collection {first_collection}, '{second}' \
         Collection {second_collection}; their values are coded differently, so make one table per collection"
    )]
    MixedCollections {
        first: String,
        first_collection: String,
        second: String,
        second_collection: String,
    },
    #[error("tiles {0} and {1} are on different grids (CRS or pixel size)")]
    TilesDisagree(String, String),
    #[error(transparent)]
    Raster(#[from] RasterError),
    #[error("cataloguing task failed: {0}")]
    Task(String),
}

/// A RASTER table option that is unknown or has a bad value, named with the option.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    #[error("invalid value '{value}' for option '{option}': expected {expected}")]
    InvalidValue {
        option: String,
        value: String,
        expected: &'static str,
    },
    #[error("option '{option}': {message}")]
    Band { option: String, message: String },
    #[error("unknown RASTER option '{key}': valid options are {valid}")]
    Unknown { key: String, valid: String },
}

impl From<OptionError> for DataFusionError {
    fn from(e: OptionError) -> Self {
        DataFusionError::Plan(e.to_string())
    }
}

/// A master URL ardent cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MasterError {
    #[error("invalid master '{0}': N in local[N] must be a positive integer")]
    Threads(String),
    #[error("invalid port '{port}' in master '{master}'")]
    Port { port: String, master: String },
    #[error("master '{0}' names no scheduler host")]
    NoHost(String),
    #[error("unknown master URL scheme '{scheme}://' in '{master}'; {SUPPORTED_MASTERS}")]
    Scheme { scheme: String, master: String },
    #[error("unknown master '{0}'; {SUPPORTED_MASTERS}")]
    Unknown(String),
}

/// A pixel CSV (`ardent ccdc --csv`) that cannot be read, naming the file and line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PixelCsvError {
    #[error("cannot read '{}': {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}header is '{found}', expected '{expected}'", file_prefix(.path))]
    Header {
        path: Option<std::path::PathBuf>,
        found: String,
        expected: &'static str,
    },
    #[error("{}empty file", file_prefix(.path))]
    Empty { path: Option<std::path::PathBuf> },
    #[error("{}line {line}: {message}", file_prefix(.path))]
    Line {
        path: Option<std::path::PathBuf>,
        line: usize,
        message: String,
    },
}

impl PixelCsvError {
    /// The same error, naming the file it came from.
    pub fn in_file(self, file: &std::path::Path) -> Self {
        let named = Some(file.to_path_buf());
        match self {
            PixelCsvError::Header {
                found, expected, ..
            } => PixelCsvError::Header {
                path: named,
                found,
                expected,
            },
            PixelCsvError::Empty { .. } => PixelCsvError::Empty { path: named },
            PixelCsvError::Line { line, message, .. } => PixelCsvError::Line {
                path: named,
                line,
                message,
            },
            io => io,
        }
    }
}

/// Why a file is not a pyccd-shaped CCDC result (`ccd.detect`'s output as JSON).
#[derive(Debug, thiserror::Error)]
#[error("'{}' is not a pyccd result: {message}", path.display())]
pub struct PyccdJsonError {
    pub path: std::path::PathBuf,
    pub message: String,
}

fn file_prefix(path: &Option<std::path::PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("'{}': ", p.display()))
        .unwrap_or_default()
}

/// Why a query result cannot be placed on a stack's grid as a map.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    #[error("the query result has no column '{0}' (a map needs row, col and the value)")]
    MissingColumn(String),
    #[error("column '{column}' cannot be mapped: {source}")]
    Type {
        column: String,
        #[source]
        source: datafusion::arrow::error::ArrowError,
    },
    #[error("row {row}, col {col} lies outside the {width}x{height} grid of the stack")]
    OutsideGrid {
        row: i64,
        col: i64,
        width: usize,
        height: usize,
    },
    #[error(transparent)]
    Raster(#[from] RasterError),
    /// A `COPY ... STORED AS GEOTIFF` statement that cannot be carried out as written.
    #[error("COPY ... STORED AS GEOTIFF: {0}")]
    Statement(String),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// Why LCMAP products could not be made; nothing half-written is left under the output folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProductsError {
    #[error("no product years given")]
    NoYears,
    #[error("the segments have no column '{0}' (expected a ccdc result or its change_models)")]
    MissingColumn(String),
    #[error("the segments hold no CCDC segment at all")]
    NoSegments,
    #[error("product year {year} is outside the years the segments cover ({first} to {last})")]
    YearOutside { year: i32, first: i32, last: i32 },
    #[error("land-cover model '{}': {reason}", path.display())]
    Model {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(transparent)]
    Landcover(#[from] LandcoverError),
    #[error("cannot create '{}': {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Query(#[from] DataFusionError),
    #[error(transparent)]
    Map(#[from] MapError),
    #[error(transparent)]
    Raster(#[from] RasterError),
}

/// Why land-cover training data could not be made; nothing is left at the output path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LandcoverError {
    #[error("raster '{path}' is not on the stack's grid: {difference}")]
    Grid { path: String, difference: String },
    #[error("label raster '{0}' has no pixel with an NLCD class LCMAP maps (11-95)")]
    NoLabels(String),
    #[error("no labelled pixel has a CCDC segment covering {date}; choose a training date inside the segments")]
    NoTrainingRows { date: chrono::NaiveDate },
    #[error(transparent)]
    Query(#[from] DataFusionError),
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    Raster(#[from] RasterError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// Why a synthetic stack could not be generated; nothing is left under `--out`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// A setting out of range, named by its command-line flag.
    #[error("{flag} {message}")]
    Setting { flag: &'static str, message: String },
    #[error("output folder '{}' is not empty; choose another --out", .0.display())]
    NotEmpty(std::path::PathBuf),
    #[error("--out '{}' is not a folder path", .0.display())]
    NotAFolder(std::path::PathBuf),
    #[error("no Landsat sensor flew between {start} and {end}")]
    NoSensor {
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    },
    #[error(transparent)]
    Io(#[from] PathIoError),
    #[error(transparent)]
    Raster(#[from] RasterError),
}

/// An I/O step that failed on a named file or folder, shown as `cannot create 'path': reason`.
#[derive(Debug, thiserror::Error)]
#[error("{what} '{}': {source}", path.display())]
pub struct PathIoError {
    pub what: &'static str,
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The [`PathIoError`] of `what` on `path`, for `map_err`.
pub fn io_error(
    what: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> PathIoError {
    let path = path.to_path_buf();
    move |source| PathIoError { what, path, source }
}

/// Why a one-host cluster could not be started, found or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A file or folder of the cluster could not be made, read or written.
    #[error(transparent)]
    Io(#[from] PathIoError),
    #[error("cannot find a free loopback port: {0}")]
    NoPort(#[source] std::io::Error),
    #[error("{} is missing: build it with `cargo build --release --bins`", .0.display())]
    MissingBinary(std::path::PathBuf),
    #[error("a cluster is already running from '{}' ({master}): stop it with `ardent cluster down`", state.display())]
    AlreadyRunning {
        state: std::path::PathBuf,
        master: String,
    },
    #[error("'{}' is not a cluster state file: {source}", path.display())]
    BadState {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{role} exited while waiting for {what}; see {}", log.display())]
    Exited {
        role: String,
        what: &'static str,
        log: std::path::PathBuf,
    },
    #[error("timed out after {seconds} s waiting for {what}; logs in {}", dir.display())]
    TimedOut {
        seconds: u64,
        what: &'static str,
        dir: std::path::PathBuf,
    },
}

/// The master URLs `MasterError` lists.
const SUPPORTED_MASTERS: &str =
    "supported master URLs: local, local[N], local[*], df://host:port, mesos://host:5050";

impl From<CatalogError> for DataFusionError {
    fn from(e: CatalogError) -> Self {
        DataFusionError::Plan(e.to_string())
    }
}
