//! CCDC speed: the kernel per pixel on pyccd's real test pixels and on a synthetic pixel of
//! 1,000 observations, and CCDC end to end through SQL over a 100 x 100 px chip of a GeoTIFF stack;
//! the annual update against a full recompute over that chip with one year added; and LCMAP's
//! change and cover products per pixel against CCDC's cost, and the land-cover classifier alone.
//!
//! The synthetic pixel is also written to `target/ccdc-bench/` so that `benches/pyccd_time.py`
//! (run by `make bench` right after) times pyccd on exactly the same inputs and prints the ratios.

use std::path::{Path, PathBuf};

use ardent_engine::ccdc::{PixelCsv, CSV_HEADER};
use ardent_engine::synth::{generate, SynthConfig};
use ardent_udfs::kernels::booster::Booster;
use ardent_udfs::kernels::ccdc::{detect, settings};
use ardent_udfs::kernels::qa::QaScheme;
use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn reference_pixels() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/pyccd-pixels")
}

/// Where the bench leaves the inputs it times, for the pyccd side.
fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ccdc-bench")
}

/// 1,000 observations every 8 days (two sensors) over 22 years: a seasonal cycle, noise from a
/// fixed linear congruential sequence, a clear-cut in 2004, and every seventh observation cloudy.
fn synthetic_pixel() -> PixelCsv {
    let mut state: u64 = 42;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2.0
    };
    let mut pixel = PixelCsv::default();
    let base = [400.0, 700.0, 600.0, 3000.0, 2000.0, 1000.0, 2900.0];
    let amplitude = [80.0, 120.0, 150.0, 900.0, 400.0, 250.0, 120.0];
    let shift = [150.0, 250.0, 400.0, -1500.0, 700.0, 500.0, 0.0];
    for i in 0..1000 {
        let date = 726_103 + 8 * i64::from(i);
        let season = (2.0 * std::f64::consts::PI / 365.2425 * date as f64).cos();
        let cloudy = i % 7 == 3;
        for b in 0..7 {
            let mut v = base[b] + amplitude[b] * season + 40.0 * noise();
            if date >= 731_900 {
                v += shift[b];
            }
            if cloudy && b < 6 {
                v += 2500.0;
            }
            pixel.bands[b].push(v.round());
        }
        pixel.dates.push(date);
        pixel.qa.push(if cloudy { 4 } else { 0 });
    }
    pixel
}

fn write_csv(pixel: &PixelCsv, path: &Path) {
    let mut text = format!("{CSV_HEADER}\n");
    for i in 0..pixel.dates.len() {
        let bands: Vec<String> = pixel.bands.iter().map(|b| b[i].to_string()).collect();
        text += &format!("{},{},{}\n", pixel.dates[i], bands.join(","), pixel.qa[i]);
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn pixels(c: &mut Criterion) {
    let mut inputs: Vec<(String, PathBuf)> = std::fs::read_dir(reference_pixels())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    inputs.sort();
    let synthetic = bench_dir().join("synthetic_1000.cfmask.csv");
    write_csv(&synthetic_pixel(), &synthetic);
    inputs.push(("synthetic_1000.cfmask".into(), synthetic));

    let mut group = c.benchmark_group("ccdc_pixel");
    for (name, path) in inputs {
        let pixel = PixelCsv::read(&path).unwrap();
        let qa = if name.ends_with(".cfmask") {
            QaScheme::Cfmask
        } else {
            QaScheme::C1
        };
        let (coding, params) = settings(Some(qa), None).unwrap();
        group.bench_function(&name, |b| {
            b.iter(|| detect(&pixel.series(), coding, &params).unwrap())
        });
    }
    group.finish();
}

/// Whether criterion benchmarks (`cargo bench`) rather than runs each bench once as a test
/// (`cargo test --benches`, where inputs are kept small).
fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A synthetic stack of `size` x `size` px from `first_year` to 2020 (every sensor flying) as
/// table `pix` of a local session: 100 x 100 px when benchmarking, 10 x 10 px when run as a test
/// (`cargo test --benches`, debug build), to keep the benches working.
struct Chip {
    size: usize,
    runtime: tokio::runtime::Runtime,
    ctx: datafusion::prelude::SessionContext,
    _dir: tempfile::TempDir,
}

impl Chip {
    /// The chip over 2013-2020: Landsat 7 and 8.
    fn new() -> Chip {
        Chip::from_year(2013)
    }

    fn from_year(first_year: i32) -> Chip {
        let size: usize = if benchmarking() { 100 } else { 10 };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("stack");
        let config = SynthConfig {
            out: out.clone(),
            size,
            start: NaiveDate::from_ymd_opt(first_year, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2020, 12, 31).unwrap(),
            ..SynthConfig::default()
        };
        generate(&config, &|_, _| {}).expect("synthetic stack");
        let chip = Chip {
            size,
            runtime: tokio::runtime::Runtime::new().unwrap(),
            ctx: ardent_engine::session::local_session(None),
            _dir: dir,
        };
        chip.run(&format!(
            "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'pixels');
             CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{0}' OPTIONS ('layout' 'observations')",
            out.display()
        ));
        chip
    }

    fn run(&self, sql: &str) {
        self.runtime
            .block_on(ardent_engine::session::run_script(&self.ctx, sql))
            .unwrap();
    }

    fn group<'a>(
        &self,
        c: &'a mut Criterion,
        name: &str,
    ) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.throughput(Throughput::Elements((self.size * self.size) as u64));
        group
    }
}

const BANDS: &str = "blue, green, red, nir, swir1, swir2, thermal, qa";

/// `ccdc` over every pixel of the chip, through SQL.
fn chip_sql(c: &mut Criterion) {
    let chip = Chip::new();
    let sql = format!(
        "SELECT count(*) AS pixels, sum(cardinality(c['change_models'])) AS segments FROM (
           SELECT ccdc(dates, {BANDS}) AS c FROM pix)"
    );
    let size = chip.size;
    let mut group = chip.group(c, "ccdc_chip_sql");
    group.bench_function(format!("{size}x{size}_px_2013_2020"), |b| {
        b.iter(|| chip.run(&sql))
    });
    group.finish();
}

/// The annual update: the chip's segments stored up to 2019, then 2020 added. Side by side over
/// the same pixels: `ccdc` from scratch, and `ccdc_update` of the stored table, with the reading
/// both do timed alone. Over two histories: 2013-2020, and from 1985 as LCMAP kept it (Landsat 4,
/// 5, 7 and 8, each as it flew); only the first when run as a test.
fn annual_update(c: &mut Criterion) {
    annual_update_from(c, 2013);
    if benchmarking() {
        annual_update_from(c, 1985);
    }
}

fn annual_update_from(c: &mut Criterion, first_year: i32) {
    let chip = Chip::from_year(first_year);
    // STAT_ORD: 2019-12-31, the stored run's end.
    let params = r#"'{"STAT_ORD": 737424}'"#;
    let lists: Vec<String> = std::iter::once("date")
        .chain(BANDS.split(", "))
        .map(|b| format!("array_agg({b})"))
        .collect();
    chip.run(&format!(
        "CREATE TABLE stored AS SELECT row, col, ccdc({}, {params}) AS c FROM obs \
         WHERE date <= DATE '2019-12-31' GROUP BY row, col",
        lists.join(", ")
    ));
    let full = format!(
        "SELECT sum(cardinality(c['change_models'])) FROM (SELECT ccdc(dates, {BANDS}, {params}) AS c FROM pix)"
    );
    let prefixed: Vec<String> = BANDS.split(", ").map(|b| format!("p.{b}")).collect();
    let update = format!(
        "SELECT sum(cardinality(c['change_models'])) FROM (
           SELECT ccdc_update(s.c, p.dates, {}, {params}) AS c
           FROM pix p JOIN stored s ON p.row = s.row AND p.col = s.col)",
        prefixed.join(", ")
    );
    // What both read: every band of every acquisition.
    let lengths: Vec<String> = std::iter::once("dates")
        .chain(BANDS.split(", "))
        .map(|b| format!("cardinality({b})"))
        .collect();
    let read = format!("SELECT sum({}) FROM pix", lengths.join(" + "));
    let mut group = chip.group(c, "ccdc_annual_update");
    group.bench_function(format!("read_{first_year}_2020"), |b| {
        b.iter(|| chip.run(&read))
    });
    group.bench_function(format!("full_recompute_{first_year}_2020"), |b| {
        b.iter(|| chip.run(&full))
    });
    group.bench_function(format!("update_2020_of_{first_year}_2019"), |b| {
        b.iter(|| chip.run(&update))
    });
    group.finish();
}

/// Numbers in [0, 1) from a fixed linear congruential sequence.
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    }
}

/// A land-cover model of the shape LCMAP trained (9 classes, trees of depth 8; `rounds` rounds
/// of one tree per class) over the 63 segment features, as XGBoost saves it. Its splits are
/// arbitrary: inference costs the same whatever the thresholds, since every tree is full.
fn lcmap_shaped_model(rounds: usize) -> String {
    let mut next = uniform(7);
    const INTERNAL: usize = 255;
    let tree = |next: &mut dyn FnMut() -> f64| {
        let nodes = 2 * INTERNAL + 1;
        let child = |i: usize, k: usize| if i < INTERNAL { (2 * i + k) as i64 } else { -1 };
        serde_json::json!({
            "left_children": (0..nodes).map(|i| child(i, 1)).collect::<Vec<_>>(),
            "right_children": (0..nodes).map(|i| child(i, 2)).collect::<Vec<_>>(),
            "split_indices": (0..nodes).map(|_| (next() * 63.0) as u32).collect::<Vec<_>>(),
            "split_conditions": (0..nodes).map(|_| next() * 2000.0 - 500.0).collect::<Vec<_>>(),
            "default_left": vec![1; nodes],
            "split_type": vec![0; nodes],
        })
    };
    let trees: Vec<_> = (0..rounds * 9).map(|_| tree(&mut next)).collect();
    serde_json::json!({"learner": {
        "learner_model_param": {"base_score": "5E-1", "num_class": "9", "num_feature": "63"},
        "objective": {"name": "multi:softprob"},
        "gradient_booster": {"name": "gbtree", "model": {
            "tree_info": (0..rounds * 9).map(|t| t % 9).collect::<Vec<_>>(), "trees": trees}}}})
    .to_string()
}

/// LCMAP's products of one year per pixel, from stored segments, beside CCDC itself: the five
/// change products, and the five cover products with a 100-round model of LCMAP's shape.
fn products_per_pixel(c: &mut Criterion) {
    let chip = Chip::new();
    chip.run(&format!(
        "CREATE TABLE stored AS SELECT row, col, ccdc(dates, {BANDS}) AS c FROM pix"
    ));
    let model = chip._dir.path().join("model.json");
    std::fs::write(&model, lcmap_shaped_model(100)).unwrap();
    let change = "SELECT sum(sctime(c, 2016)), sum(scmag(c, 2016)), sum(sclast(c, 2016)), \
                  sum(scstab(c, 2016)), sum(scmqa(c, 2016)) FROM stored";
    // One field: each field taken in SQL is planned as its own call of `landcover`, which
    // computes all five.
    let cover = format!(
        "SELECT sum(landcover(c, 2016, '{}')['lcpri']) FROM stored",
        model.display()
    );
    let mut group = chip.group(c, "products_per_pixel");
    group.bench_function("change_products_2016", |b| b.iter(|| chip.run(change)));
    group.bench_function("cover_products_2016", |b| b.iter(|| chip.run(&cover)));
    group.finish();
}

/// The classifier alone, with the model above: segments of eight prediction dates each, their
/// rows alike but in the date's seven features (intercept + slope x date), predicted grouped by
/// segment (as `landcover` does) and row by row.
fn classifier(c: &mut Criterion) {
    let segments = if benchmarking() { 1000 } else { 10 };
    let booster = Booster::from_json(&lcmap_shaped_model(100)).unwrap();
    let mut next = uniform(11);
    let mut rows = Vec::new();
    for _ in 0..segments {
        let features: Vec<f32> = (0..63).map(|_| (next() * 2000.0 - 500.0) as f32).collect();
        for year in 0..8 {
            rows.extend(features.iter().enumerate().map(|(k, &f)| {
                // Each band's ninth feature is the date's.
                if k % 9 == 8 {
                    f + 12.0 * year as f32
                } else {
                    f
                }
            }));
        }
    }
    let groups = vec![8; segments];
    let mut group = c.benchmark_group("classifier");
    group.sample_size(10);
    group.throughput(Throughput::Elements(segments as u64));
    group.bench_function("grouped_by_segment", |b| {
        b.iter(|| booster.predict_groups(&rows, &groups))
    });
    group.bench_function("row_by_row", |b| b.iter(|| booster.predict_rows(&rows)));
    group.finish();
}

criterion_group!(
    benches,
    pixels,
    chip_sql,
    annual_update,
    products_per_pixel,
    classifier
);
criterion_main!(benches);
