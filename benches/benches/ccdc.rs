//! CCDC speed: the kernel per pixel on pyccd's real test pixels and on a synthetic pixel of
//! 1,000 observations, and CCDC end to end through SQL over a 100 x 100 px chip of a GeoTIFF stack.
//!
//! The synthetic pixel is also written to `target/ccdc-bench/` so that `benches/pyccd_time.py`
//! (run by `make bench` right after) times pyccd on exactly the same inputs and prints the ratios.

use std::path::{Path, PathBuf};

use ardent_engine::ccdc::{PixelCsv, CSV_HEADER};
use ardent_engine::synth::{generate, SynthConfig};
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

/// `ccdc` over every pixel of a 100 x 100 px stack (2013-2020, both sensors), through SQL; a
/// 10 x 10 px one when run as a test (`cargo test --benches`, debug build), to keep it working.
fn chip_sql(c: &mut Criterion) {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let size: usize = if benchmarking { 100 } else { 10 };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stack");
    let config = SynthConfig {
        out: out.clone(),
        size,
        start: NaiveDate::from_ymd_opt(2013, 1, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2020, 12, 31).unwrap(),
        ..SynthConfig::default()
    };
    generate(&config, &|_, _| {}).expect("synthetic stack");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ctx = ardent_engine::session::local_session(None);
    let create = format!(
        "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'pixels')",
        out.display()
    );
    runtime
        .block_on(ardent_engine::session::run_script(&ctx, &create))
        .unwrap();
    let sql = "SELECT count(*) AS pixels, sum(cardinality(c['change_models'])) AS segments FROM (
                 SELECT ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) AS c FROM pix)";
    let mut group = c.benchmark_group("ccdc_chip_sql");
    group.sample_size(10);
    group.throughput(Throughput::Elements((size * size) as u64));
    group.bench_function(format!("{size}x{size}_px_2013_2020"), |b| {
        b.iter(|| {
            runtime
                .block_on(ardent_engine::session::run_script(&ctx, sql))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, pixels, chip_sql);
criterion_main!(benches);
