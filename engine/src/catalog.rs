//! The catalog of a stack: which files hold which band of which acquisition of which tile, and the
//! check that every file of a tile shares one grid.
//!
//! Files are found from ARD names of either collection, or from a manifest (`manifest.csv` in the
//! location, or the `manifest` option) for stacks named otherwise, with the columns
//! `path,date,band,tile` and optional `sensor` and `collection` (`c1`, the default, or `c2`: how
//! the files' values are coded). A stack holds one collection.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use crate::ard::{ArdName, Band, Collection};
use crate::error::CatalogError;
use crate::gdal_io::{self, RasterFile, SampleType};
use crate::grid::Grid;
use crate::location::Location;

/// How many raster headers this process checks at once, over every catalogue in progress.
/// Header reads are small and block in GDAL, so they run on tokio's blocking threads; a few at a
/// time hide object-store latency without letting one large stack take every blocking thread.
const HEADER_CHECKS: usize = 8;

/// The process's permits for header checks (see [`HEADER_CHECKS`]).
static HEADER_PERMITS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(HEADER_CHECKS));

/// Days since 1970-01-01, as Arrow's Date32.
pub fn date32(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// The calendar date of a Date32 value.
pub fn from_date32(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(i64::from(days))
}

/// One date's observation of a tile: a file per band.
#[derive(Clone, Debug, PartialEq)]
pub struct Acquisition {
    /// Date32 days.
    pub date: i32,
    pub sensor: String,
    /// GDAL path of each band's file.
    pub files: BTreeMap<Band, String>,
}

/// All acquisitions of one tile, ascending by date, on one grid.
#[derive(Clone, Debug, PartialEq)]
pub struct TileStack {
    pub tile: String,
    pub grid: Grid,
    pub acquisitions: Vec<Acquisition>,
}

/// A catalogued stack: one or more tiles with the same bands.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    pub location: Location,
    /// How the files' values are coded; tables show both collections in Collection 1's units.
    pub collection: Collection,
    pub tiles: Vec<TileStack>,
    /// The bands every acquisition has, in column order.
    pub bands: Vec<Band>,
}

/// The part of a stack a table reads: some bands, acquisitions between two dates. Every file is
/// listed, but only those are opened and checked when the stack is catalogued (at least one per
/// tile, for its grid), so a table over one year of a decade-long stack, or over three of its
/// eight bands, does not pay for the rest: opening a GeoTIFF and building its CRS costs about a
/// millisecond.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// All bands when `None`.
    pub bands: Option<Vec<Band>>,
    /// Date32 days, inclusive.
    pub start: Option<i32>,
    pub end: Option<i32>,
}

impl Selection {
    fn keeps(&self, band: Band, date: i32) -> bool {
        self.bands.as_ref().is_none_or(|b| b.contains(&band)) && self.keeps_date(date)
    }

    /// Whether an acquisition of this date is in the selection's dates.
    pub fn keeps_date(&self, date: i32) -> bool {
        self.start.is_none_or(|s| date >= s) && self.end.is_none_or(|e| date <= e)
    }
}

/// One catalogued file before grouping.
struct Entry {
    path: String,
    collection: Collection,
    tile: String,
    date: i32,
    sensor: String,
    band: Band,
}

impl Entry {
    /// The entry of a file with an ARD name.
    fn named(path: String, name: &ArdName, band: Band) -> Entry {
        Entry {
            path,
            collection: name.collection,
            tile: name.tile.to_string(),
            date: date32(name.acquired),
            sensor: name.sensor.code().to_string(),
            band,
        }
    }
}

impl Stack {
    /// Lists the stack at `location` and checks the files `selection` keeps. A location naming a
    /// `.json` file is a STAC ItemCollection or Item whose assets list the files. Otherwise
    /// `manifest` names a manifest file under the location; without it, `manifest.csv` is used if
    /// present, else ARD file names.
    ///
    /// Listing and manifest reads are async; only the GDAL header checks block, each on a
    /// blocking thread, at most 8 at a time in the process.
    pub async fn open(
        location: &Location,
        manifest: Option<&str>,
        selection: &Selection,
    ) -> Result<Stack, CatalogError> {
        if let Some((folder, file)) = location.json_file() {
            folder.configure_gdal()?;
            let entries = crate::stac::assets(&folder, &file)
                .await?
                .into_iter()
                .map(|a| Entry::named(a.path, &a.name, a.band))
                .collect();
            return Stack::from_entries(folder, entries, selection).await;
        }
        location.configure_gdal()?;
        let listed = location.list().await?;
        let manifest = manifest.or_else(|| {
            listed
                .iter()
                .any(|f| f == "manifest.csv")
                .then_some("manifest.csv")
        });
        let entries = match manifest {
            Some(name) => entries_from_manifest(location, name).await?,
            None => entries_from_ard_names(location, &listed)?,
        };
        Stack::from_entries(location.clone(), entries, selection).await
    }

    /// Groups catalogued files into a stack and checks the grids of those `selection` keeps.
    async fn from_entries(
        location: Location,
        entries: Vec<Entry>,
        selection: &Selection,
    ) -> Result<Stack, CatalogError> {
        if entries.is_empty() {
            return Err(CatalogError::NoRasterFiles(location.to_string()));
        }
        let collection = one_collection(&entries)?;
        let (tiles, bands) = group(entries)?;
        let mut checked = Vec::with_capacity(tiles.len());
        for (tile, acquisitions) in tiles {
            checked.push(check_grid(tile, acquisitions, selection, collection).await?);
        }
        let tiles = checked;
        check_tiles_agree(&tiles)?;
        Ok(Stack {
            location,
            collection,
            tiles,
            bands,
        })
    }

    /// Number of pixels over all tiles.
    pub fn pixel_count(&self) -> usize {
        self.tiles
            .iter()
            .map(|t| t.grid.width * t.grid.height)
            .sum()
    }
}

fn entries_from_ard_names(
    location: &Location,
    listed: &[String],
) -> Result<Vec<Entry>, CatalogError> {
    let mut entries = Vec::new();
    for relative in listed {
        let file_name = relative.rsplit('/').next().unwrap_or(relative);
        let Some(name) = ArdName::parse(file_name)? else {
            continue;
        };
        let Some(band) = name.band else {
            tracing::debug!(
                file = relative,
                "skipping ARD layer that is not a band ardent reads"
            );
            continue;
        };
        entries.push(Entry::named(location.gdal_path(relative), &name, band));
    }
    Ok(entries)
}

async fn entries_from_manifest(
    location: &Location,
    name: &str,
) -> Result<Vec<Entry>, CatalogError> {
    let text = location.read_text(name).await?;
    parse_manifest(location, name, &text)
}

/// The entries of a manifest's text; errors name the manifest and line.
fn parse_manifest(location: &Location, name: &str, text: &str) -> Result<Vec<Entry>, CatalogError> {
    let error = |line: Option<usize>, message: String| CatalogError::Manifest {
        manifest: name.to_string(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| error(None, "it is empty".into()))?
        .1
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let column = |wanted: &str| header.iter().position(|c| c == wanted);
    let required = |wanted: &str| {
        column(wanted).ok_or_else(|| {
            error(
                None,
                format!("no '{wanted}' column (needs path,date,band,tile)"),
            )
        })
    };
    let (path_at, date_at, band_at, tile_at) = (
        required("path")?,
        required("date")?,
        required("band")?,
        required("tile")?,
    );
    let sensor_at = column("sensor");
    let collection_at = column("collection");
    lines
        .map(|(number, line)| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let context = |message: String| error(Some(number + 1), message);
            let at = |i: usize| {
                fields
                    .get(i)
                    .copied()
                    .ok_or_else(|| context(format!("expected {} fields", header.len())))
            };
            let date = NaiveDate::parse_from_str(at(date_at)?, "%Y-%m-%d").map_err(|_| {
                context(format!(
                    "unparsable date '{}' (expected YYYY-MM-DD)",
                    at(date_at).unwrap_or("")
                ))
            })?;
            let path = at(path_at)?;
            let collection = match collection_at {
                Some(i) => at(i)?
                    .parse()
                    .map_err(|e: crate::ard::NameError| context(e.to_string()))?,
                None => Collection::C1,
            };
            Ok(Entry {
                collection,
                path: if path.starts_with('/') {
                    path.to_string()
                } else {
                    location.gdal_path(path)
                },
                tile: at(tile_at)?.to_string(),
                date: date32(date),
                sensor: sensor_at.map(at).transpose()?.unwrap_or("").to_string(),
                band: at(band_at)?
                    .parse()
                    .map_err(|e: crate::ard::NameError| context(e.to_string()))?,
            })
        })
        .collect()
}

/// The one collection of all entries; an error naming a file of each if they mix.
fn one_collection(entries: &[Entry]) -> Result<Collection, CatalogError> {
    let first = &entries[0];
    match entries.iter().find(|e| e.collection != first.collection) {
        None => Ok(first.collection),
        Some(other) => Err(CatalogError::MixedCollections {
            first: first.path.clone(),
            first_collection: first.collection.name()[1..].to_string(),
            second: other.path.clone(),
            second_collection: other.collection.name()[1..].to_string(),
        }),
    }
}

type Grouped = (BTreeMap<String, Vec<Acquisition>>, Vec<Band>);

/// Groups files into acquisitions per tile, and checks every acquisition has the same bands.
fn group(entries: Vec<Entry>) -> Result<Grouped, CatalogError> {
    let mut by_key: BTreeMap<(String, i32, String), BTreeMap<Band, String>> = BTreeMap::new();
    for e in entries {
        let files = by_key.entry((e.tile, e.date, e.sensor)).or_default();
        if let Some(previous) = files.insert(e.band, e.path.clone()) {
            return Err(CatalogError::DuplicateBand {
                band: e.band.to_string(),
                first: previous,
                second: e.path,
            });
        }
    }
    let mut bands: Vec<Band> = by_key.values().flat_map(|f| f.keys().copied()).collect();
    bands.sort();
    bands.dedup();
    let mut tiles: BTreeMap<String, Vec<Acquisition>> = BTreeMap::new();
    for ((tile, date, sensor), files) in by_key {
        if let Some(missing) = bands.iter().find(|b| !files.contains_key(b)) {
            return Err(CatalogError::MissingBand {
                date: from_date32(date).to_string(),
                sensor,
                tile,
                band: missing.to_string(),
            });
        }
        tiles.entry(tile).or_default().push(Acquisition {
            date,
            sensor,
            files,
        });
    }
    Ok((tiles, bands))
}

/// Opens the selected files of a tile (the first file if none is) and checks each is a
/// single-band raster of the expected sample type on the same grid as the others.
async fn check_grid(
    tile: String,
    acquisitions: Vec<Acquisition>,
    selection: &Selection,
    collection: Collection,
) -> Result<TileStack, CatalogError> {
    let files = files_to_check(&acquisitions, selection);
    let grids: Vec<Grid> = futures::stream::iter(files.iter().cloned())
        .map(|(band, path)| async move {
            let _permit = HEADER_PERMITS
                .acquire()
                .await
                .map_err(|e| CatalogError::Task(e.to_string()))?;
            tokio::task::spawn_blocking(move || file_grid(band, &path, collection))
                .await
                .map_err(|e| CatalogError::Task(e.to_string()))?
        })
        .buffered(HEADER_CHECKS)
        .try_collect()
        .await?;
    let mut reference: Option<(Grid, &str)> = None;
    for (grid, (_, path)) in grids.into_iter().zip(&files) {
        match &reference {
            None => {
                if !grid.is_north_up() {
                    return Err(CatalogError::NotNorthUp(path.clone()));
                }
                reference = Some((grid, path))
            }
            Some((first, first_path)) => {
                let difference = first.layout_difference(&grid).or_else(|| {
                    (!gdal_io::same_crs(&first.crs_wkt, &grid.crs_wkt))
                        .then(|| "another CRS than that".to_string())
                });
                if let Some(difference) = difference {
                    return Err(CatalogError::GridMismatch {
                        tile,
                        path: path.clone(),
                        reference: first_path.to_string(),
                        difference,
                    });
                }
            }
        }
    }
    let (grid, _) = reference.expect("a tile has at least one file");
    Ok(TileStack {
        tile,
        grid,
        acquisitions,
    })
}

/// The files of a tile `selection` keeps, or its first file if it keeps none.
fn files_to_check(acquisitions: &[Acquisition], selection: &Selection) -> Vec<(Band, String)> {
    let all = || {
        acquisitions
            .iter()
            .flat_map(|a| a.files.iter().map(move |(b, p)| (*b, p, a.date)))
    };
    let kept: Vec<(Band, String)> = all()
        .filter(|(b, _, date)| selection.keeps(*b, *date))
        .map(|(b, p, _)| (b, p.clone()))
        .collect();
    if kept.is_empty() {
        all().take(1).map(|(b, p, _)| (b, p.clone())).collect()
    } else {
        kept
    }
}

fn file_grid(band: Band, path: &str, collection: Collection) -> Result<Grid, CatalogError> {
    let file = RasterFile::open(path)?;
    if file.band_count() != 1 {
        return Err(CatalogError::BandCount {
            path: path.to_string(),
            count: file.band_count(),
        });
    }
    let expected = if band.is_qa() || collection.stores_digital_numbers() {
        SampleType::UInt16
    } else {
        SampleType::Int16
    };
    let found = file.sample_type()?;
    if found != expected {
        return Err(CatalogError::SampleType {
            path: path.to_string(),
            found: format!("{found:?}"),
            band: band.to_string(),
            expected: format!("{expected:?}"),
        });
    }
    Ok(file.grid()?)
}

fn check_tiles_agree(tiles: &[TileStack]) -> Result<(), CatalogError> {
    let Some(first) = tiles.first() else {
        return Ok(());
    };
    for other in &tiles[1..] {
        if !gdal_io::same_crs(&first.grid.crs_wkt, &other.grid.crs_wkt)
            || first.grid.transform[1] != other.grid.transform[1]
        {
            return Err(CatalogError::TilesDisagree(
                first.tile.clone(),
                other.tile.clone(),
            ));
        }
    }
    Ok(())
}
