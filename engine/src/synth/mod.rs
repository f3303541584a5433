//! `ardent synth`: a synthetic Landsat ARD stack laid out, named and coded like USGS ARD
//! Collection 1 (one DEFLATE-compressed, tiled GeoTIFF per band per acquisition on the CONUS
//! Albers grid) or Collection 2 (UInt16 digital numbers with fill 0, `QA_PIXEL` bits, cloud
//! optimized GeoTIFFs), with a ground-truth table of the changes it contains and a label raster
//! of each pixel's land cover as NLCD codes it (`labels.tif`, the cover before any change: the
//! labels a land-cover classifier trains on) and an elevation layer (`elevation.tif`, metres,
//! from the terrain that placed the covers: an auxiliary layer as LCMAP's DEM was). The same seed
//! gives the same landscape and observations in both collections.
//!
//! ```no_run
//! use ardent_engine::synth::{generate, SynthConfig};
//! let config = SynthConfig { out: "stack".into(), size: 50, ..SynthConfig::default() };
//! let summary = generate(&config, &|done, total| eprintln!("{done}/{total}")).unwrap();
//! println!("{} acquisitions in {}", summary.acquisitions, summary.out.display());
//! ```

mod landscape;
mod noise;
mod scene;

pub use landscape::Cover;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::ard::{ArdName, Band, Collection, Sensor, TileId};
use crate::catalog::{date32, from_date32};
use crate::error::{io_error as io, SynthError};
use crate::gdal_io::{write_raster, TiffLayout};
use crate::grid::{Grid, ARD_TILE_PIXELS};
use landscape::Landscape;

/// What to generate.
#[derive(Clone, Debug, Serialize)]
pub struct SynthConfig {
    pub out: PathBuf,
    /// How files are named and values coded.
    pub collection: Collection,
    pub tile: TileId,
    /// Pixels per side, from the tile's upper-left corner.
    pub size: usize,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Days between acquisitions of one sensor (Landsat: 16).
    pub revisit: u32,
    /// Mean share of each scene covered by cloud.
    pub cloud: f64,
    /// Share of pixels with an abrupt land-cover change.
    pub change_fraction: f64,
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("ard-stack"),
            collection: Collection::C1,
            tile: TileId { h: 3, v: 8 },
            size: 100,
            start: NaiveDate::from_ymd_opt(2013, 1, 1).expect("date"),
            end: NaiveDate::from_ymd_opt(2020, 12, 31).expect("date"),
            revisit: 16,
            cloud: 0.3,
            change_fraction: 0.1,
            seed: 42,
        }
    }
}

impl SynthConfig {
    fn validate(&self) -> Result<(), SynthError> {
        let bad = |flag, message: String| Err(SynthError::Setting { flag, message });
        if self.size == 0 || self.size > ARD_TILE_PIXELS {
            return bad(
                "--size",
                format!("must be between 1 and {ARD_TILE_PIXELS}, got {}", self.size),
            );
        }
        if self.start >= self.end {
            return bad(
                "--start",
                format!("({}) must be before --end ({})", self.start, self.end),
            );
        }
        if self.revisit == 0 {
            return bad("--revisit", "must be at least 1 day".into());
        }
        if !(0.0..1.0).contains(&self.cloud) {
            return bad("--cloud", format!("must be in [0, 1), got {}", self.cloud));
        }
        if !(0.0..=1.0).contains(&self.change_fraction) {
            return bad(
                "--change-fraction",
                format!("must be in [0, 1], got {}", self.change_fraction),
            );
        }
        Ok(())
    }
}

/// The label raster's file name in a synthetic stack.
pub const LABELS_FILE: &str = "labels.tif";
/// The elevation layer's file name in a synthetic stack.
pub const ELEVATION_FILE: &str = "elevation.tif";

/// What was generated.
#[derive(Clone, Debug)]
pub struct SynthSummary {
    pub out: PathBuf,
    pub acquisitions: usize,
    pub files: usize,
    pub changed_pixels: usize,
    pub truth: PathBuf,
    pub mean_cloud_cover: f64,
}

/// The acquisitions of every sensor of `collection` flying between `start` and `end`: each sensor
/// revisits every `revisit` days, and sensors flying together are offset by half a cycle, as
/// Landsat's are.
pub fn acquisition_schedule(
    collection: Collection,
    start: NaiveDate,
    end: NaiveDate,
    revisit: u32,
) -> Vec<(NaiveDate, Sensor)> {
    let epoch = NaiveDate::from_ymd_opt(1982, 8, 22).expect("date");
    let mut schedule = Vec::new();
    for (k, sensor) in Sensor::ALL.into_iter().enumerate() {
        if !collection.has(sensor) {
            continue;
        }
        let (first, last) = sensor.mission();
        let (from, to) = (start.max(first), end.min(last));
        let phase = (k as u32 % 2) * revisit / 2;
        let offset = (from - epoch).num_days() - i64::from(phase);
        let step = i64::from(revisit);
        let mut day =
            epoch + chrono::Duration::days(i64::from(phase) + offset.div_euclid(step) * step);
        while day <= to {
            if day >= from {
                schedule.push((day, sensor));
            }
            day += chrono::Duration::days(step);
        }
    }
    schedule.sort();
    schedule
}

/// Generates the stack described by `config`, calling `progress(done, total)` per acquisition.
///
/// The stack is written to a temporary folder beside `config.out` and moved into place at the end,
/// so a failure leaves no partial stack behind. `config.out` must not exist or be empty.
pub fn generate(
    config: &SynthConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<SynthSummary, SynthError> {
    config.validate()?;
    let out = &config.out;
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io("cannot read", out))?
            .next()
            .is_some()
    {
        return Err(SynthError::NotEmpty(out.clone()));
    }
    let name = out
        .file_name()
        .ok_or_else(|| SynthError::NotAFolder(out.clone()))?;
    let staging = out.with_file_name(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
    let result = write_stack(config, &staging, progress).and_then(|summary| {
        if out.exists() {
            std::fs::remove_dir(out).map_err(io("cannot replace", out))?;
        }
        std::fs::rename(&staging, out).map_err(io("cannot move the stack to", out))?;
        Ok(SynthSummary {
            out: out.clone(),
            truth: out.join("truth.csv"),
            ..summary
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn write_stack(
    config: &SynthConfig,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<SynthSummary, SynthError> {
    let collection = config.collection;
    let schedule = acquisition_schedule(collection, config.start, config.end, config.revisit);
    if schedule.is_empty() {
        return Err(SynthError::NoSensor {
            start: config.start,
            end: config.end,
        });
    }
    let (start, end) = (date32(config.start), date32(config.end));
    let margin = ((end - start) / 4).max(365);
    let change_window = if start + margin <= end - margin {
        (start + margin, end - margin)
    } else {
        ((start + end) / 2, (start + end) / 2)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let land = Landscape::generate(
        &mut rng,
        config.size,
        config.size,
        config.change_fraction,
        change_window,
    );
    let grid = Grid::ard(config.tile, config.size, config.size);

    let done = AtomicUsize::new(0);
    let total = schedule.len();
    let cloud_covers = schedule
        .par_iter()
        .enumerate()
        .map(|(index, &(date, sensor))| {
            // One generator per acquisition: the stack is the same whatever the thread count.
            let mut rng = ChaCha8Rng::seed_from_u64(
                config.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let scene = scene::render(&land, date, sensor, config.cloud, &mut rng);
            let produced = (date + chrono::Duration::days(60))
                .max(NaiveDate::from_ymd_opt(2018, 12, 2).expect("date"));
            let path = |band| {
                dir.join(ArdName::file_name(
                    collection,
                    sensor,
                    config.tile,
                    date,
                    produced,
                    band,
                ))
            };
            for (band, values) in Band::ALL.iter().zip(&scene.bands) {
                let path = path(*band);
                match collection {
                    Collection::C1 => write_raster(
                        &path,
                        &grid,
                        values,
                        Some(f64::from(ardent_udfs::kernels::FILL)),
                        TiffLayout::Tiled,
                    )?,
                    Collection::C2 => {
                        let stored: Vec<u16> = values
                            .iter()
                            .map(|&v| collection.encode(*band, v))
                            .collect();
                        write_raster(&path, &grid, &stored, Some(0.0), TiffLayout::Cog)?
                    }
                }
            }
            match collection {
                Collection::C1 => write_raster(
                    &path(Band::Qa),
                    &grid,
                    &scene.qa,
                    Some(1.0),
                    TiffLayout::Tiled,
                )?,
                Collection::C2 => {
                    let qa: Vec<u16> = scene.qa.iter().map(|&q| qa_pixel_of(q)).collect();
                    write_raster(&path(Band::Qa), &grid, &qa, Some(1.0), TiffLayout::Cog)?
                }
            }
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            Ok(scene.cloud_cover)
        })
        .collect::<Result<Vec<f64>, SynthError>>()?;

    write_truth(&dir.join("truth.csv"), &land, &grid)?;
    let labels: Vec<u8> = land.pixels.iter().map(|p| p.cover.nlcd_code()).collect();
    write_raster(
        &dir.join(LABELS_FILE),
        &grid,
        &labels,
        Some(0.0),
        TiffLayout::Tiled,
    )?;
    let elevation: Vec<f32> = land.terrain.iter().map(|t| 150.0 + 1800.0 * t).collect();
    write_raster(
        &dir.join(ELEVATION_FILE),
        &grid,
        &elevation,
        None,
        TiffLayout::Tiled,
    )?;
    let meta = serde_json::to_string_pretty(config).expect("a SynthConfig serializes to JSON");
    let meta_path = dir.join("synth.json");
    std::fs::write(&meta_path, meta).map_err(io("cannot write", &meta_path))?;
    Ok(SynthSummary {
        out: dir.to_path_buf(),
        acquisitions: total,
        files: total * Band::ALL.len(),
        changed_pixels: land.pixels.iter().filter(|p| p.change.is_some()).count(),
        truth: dir.join("truth.csv"),
        mean_cloud_cover: cloud_covers.iter().sum::<f64>() / total as f64,
    })
}

/// The Collection 2 `QA_PIXEL` value of a Collection 1 `pixel_qa` value, flag by flag: fill (bit
/// 0 in both), cloud (C1 bit 5, C2 bit 3 with high cloud confidence), shadow (3 to 4), snow (4 to
/// 5), water (2 to 7) and clear (1 to 6). As USGS codes it, the clear bit marks every observation
/// that is neither fill nor cloud, and every confidence that is not high is low (bits 8-15 `01`).
/// Both schemes rank fill, cloud, shadow, snow, water, clear, so each observation keeps its class.
fn qa_pixel_of(pixel_qa: u16) -> u16 {
    const FILL: u16 = 1;
    const LOW_CONFIDENCES: u16 = 0b0101_0101 << 8;
    const HIGH_CLOUD_CONFIDENCE: u16 = 0b11 << 8;
    if pixel_qa & FILL != 0 {
        return FILL;
    }
    let bit = |c1: u16, c2: u16| {
        if pixel_qa & (1 << c1) != 0 {
            1 << c2
        } else {
            0
        }
    };
    let flags = bit(3, 4) | bit(4, 5) | bit(2, 7);
    if pixel_qa & (1 << 5) != 0 {
        LOW_CONFIDENCES | HIGH_CLOUD_CONFIDENCE | 1 << 3 | flags
    } else if pixel_qa & 0b1_1110 != 0 {
        LOW_CONFIDENCES | 1 << 6 | flags
    } else {
        LOW_CONFIDENCES | flags
    }
}

/// The ground truth: one row per pixel with its cover and, if it changes, the date and new cover.
fn write_truth(path: &Path, land: &Landscape, grid: &Grid) -> Result<(), SynthError> {
    let err = |e| io("cannot write", path)(e);
    let file = std::fs::File::create(path).map_err(err)?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "row,col,px,py,cover,change_date,cover_after").map_err(err)?;
    for (i, pixel) in land.pixels.iter().enumerate() {
        let (row, col) = (i / land.width, i % land.width);
        let (date, after) = match pixel.change {
            Some((day, after)) => (from_date32(day).to_string(), after.name()),
            None => (String::new(), ""),
        };
        writeln!(
            out,
            "{row},{col},{},{},{},{date},{after}",
            grid.x_of(col) as i64,
            grid.y_of(row) as i64,
            pixel.cover.name()
        )
        .map_err(err)?;
    }
    Ok(out.flush().map_err(err)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_interleaves_sensors_within_missions() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let s = acquisition_schedule(Collection::C1, d(2013, 1, 1), d(2013, 12, 31), 16);
        let l8: Vec<_> = s.iter().filter(|(_, x)| *x == Sensor::Lc08).collect();
        let l7: Vec<_> = s.iter().filter(|(_, x)| *x == Sensor::Le07).collect();
        assert!(l8.iter().all(|(date, _)| *date >= d(2013, 4, 11)));
        assert!((22..=23).contains(&l7.len()), "{}", l7.len());
        assert!((17..=18).contains(&l8.len()), "{}", l8.len());
        assert!(s.windows(2).all(|w| w[0].0 <= w[1].0));
        // Half a cycle apart.
        assert_eq!(
            (l8[0].0 - l7.iter().rev().find(|(x, _)| *x < l8[0].0).unwrap().0).num_days(),
            8
        );
    }

    #[test]
    fn landsat_9_flies_in_collection_2_only() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let count = |c| {
            acquisition_schedule(c, d(2022, 1, 1), d(2022, 12, 31), 16)
                .iter()
                .filter(|(_, s)| *s == Sensor::Lc09)
                .count()
        };
        assert_eq!(count(Collection::C1), 0);
        assert!((22..=23).contains(&count(Collection::C2)));
    }

    #[test]
    fn qa_pixel_keeps_each_class() {
        use ardent_udfs::kernels::qa::{classify, QaScheme};
        // Fill, cloud, shadow, snow, water, clear as the synthetic scenes code them (C1).
        for pixel_qa in [
            1u16,
            1 << 5 | 0b11 << 6,
            1 << 3 | 1 << 6,
            1 << 4 | 1 << 6,
            1 << 2 | 1 << 6,
            1 << 1 | 1 << 6 | 1 << 8,
        ] {
            assert_eq!(
                classify(qa_pixel_of(pixel_qa), QaScheme::C2),
                classify(pixel_qa, QaScheme::C1),
                "{pixel_qa:#b}"
            );
        }
        // USGS's own values: clear land with low confidences, water, high-confidence cloud.
        assert_eq!(qa_pixel_of(1 << 1 | 1 << 6), 21824);
        assert_eq!(qa_pixel_of(1 << 2 | 1 << 6), 21952);
        assert_eq!(qa_pixel_of(1 << 5 | 0b11 << 6), 22280);
    }

    #[test]
    fn generates_a_small_stack_and_refuses_a_full_folder() {
        let dir = tempfile::tempdir().unwrap();
        let config = SynthConfig {
            out: dir.path().join("stack"),
            size: 20,
            start: NaiveDate::from_ymd_opt(2014, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2014, 3, 1).unwrap(),
            ..SynthConfig::default()
        };
        let summary = generate(&config, &|_, _| {}).unwrap();
        let tifs = std::fs::read_dir(&config.out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "tif")
            })
            .count();
        // The bands of every acquisition, the labels and the elevation.
        assert_eq!(tifs, summary.files + 2);
        assert_eq!(summary.files, summary.acquisitions * 8);
        assert!(config.out.join(LABELS_FILE).exists() && config.out.join(ELEVATION_FILE).exists());
        let truth = std::fs::read_to_string(&summary.truth).unwrap();
        assert_eq!(truth.lines().count(), 1 + 20 * 20);
        let err = generate(&config, &|_, _| {}).unwrap_err();
        assert!(matches!(err, SynthError::NotEmpty(_)), "{err}");
        // No staging folder is left next to the stack.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
