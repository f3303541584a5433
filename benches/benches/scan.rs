//! Chip assembly against its limit: the raster scan (GDAL windowed reads assembled into Arrow
//! record batches, through `RasterScanExec`) beside raw GDAL windowed reads of the same windows
//! into plain buffers. Both open every file once per iteration and run on one thread.
//!
//! Throughput is in pixel-observations (pixels x acquisitions) per second, three bands each.

use std::sync::Arc;

use ardent_engine::ard::Band;
use ardent_engine::gdal_io::RasterFile;
use ardent_engine::provider::{Layout, RasterOptions, RasterTable};
use ardent_engine::synth::{generate, SynthConfig};
use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datafusion::datasource::TableProvider;
use futures::StreamExt;

const CHIP: usize = 100;
const BANDS: [Band; 3] = [Band::Red, Band::Nir, Band::Qa];

fn stack() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("stack");
    let config = SynthConfig {
        out: out.clone(),
        size: CHIP,
        start: NaiveDate::from_ymd_opt(2014, 1, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2015, 12, 31).unwrap(),
        ..SynthConfig::default()
    };
    generate(&config, &|_, _| {}).expect("synthetic stack");
    (dir, out.display().to_string())
}

/// Reads the chip window of every file of `BANDS`, opening each file once.
fn raw_read(table: &RasterTable) -> usize {
    let tile = &table.stack().tiles[0];
    let window = tile.grid.chips(CHIP)[0];
    let mut i16_buf = vec![0i16; window.pixels()];
    let mut u16_buf = vec![0u16; window.pixels()];
    let mut read = 0;
    for acquisition in &tile.acquisitions {
        for band in BANDS {
            let file = RasterFile::open(&acquisition.files[&band]).expect("open");
            if band.is_qa() {
                file.read_window(window, &mut u16_buf).expect("read");
            } else {
                file.read_window(window, &mut i16_buf).expect("read");
            }
            read += window.pixels();
        }
    }
    read
}

async fn scan(table: &RasterTable, ctx: &datafusion::prelude::SessionContext) -> usize {
    let schema = table.schema();
    let projection: Vec<usize> = BANDS
        .iter()
        .map(|b| schema.index_of(b.name()).unwrap())
        .collect();
    let exec = table
        .scan(&ctx.state(), Some(&projection), &[], None)
        .await
        .unwrap();
    let mut stream = exec.execute(0, ctx.task_ctx()).unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().num_rows();
    }
    rows
}

fn chip_assembly(c: &mut Criterion) {
    let (_dir, location) = stack();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ctx = ardent_engine::session::local_session(Some(1));
    let mut group = c.benchmark_group("chip_assembly");
    group.sample_size(10);
    let pixels = CHIP * CHIP;
    for layout in [Layout::Pixels, Layout::Observations] {
        let options = RasterOptions {
            layout,
            ..RasterOptions::default()
        };
        let table = Arc::new(
            runtime
                .block_on(RasterTable::try_new(&location, options))
                .unwrap(),
        );
        let acquisitions = table.stack().tiles[0].acquisitions.len();
        group.throughput(Throughput::Elements((pixels * acquisitions) as u64));
        if layout == Layout::Pixels {
            group.bench_function("raw_gdal_windows", |b| b.iter(|| raw_read(&table)));
        }
        group.bench_function(format!("scan_{layout}"), |b| {
            b.iter(|| runtime.block_on(scan(&table, &ctx)))
        });
    }
    group.finish();
}

fn kernels(c: &mut Criterion) {
    use ardent_udfs::kernels::composite::{composite, CompositeStat, Series};
    use ardent_udfs::kernels::qa::QaScheme;
    let n = 1000;
    let dates: Vec<i32> = (0..n).map(|i| 16000 + 8 * i).collect();
    let values: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let qa: Vec<u16> = (0..n).map(|i| if i % 3 == 0 { 352 } else { 322 }).collect();
    let mut scratch = Vec::new();
    let mut group = c.benchmark_group("kernels");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("composite_median_1000_obs", |b| {
        b.iter(|| {
            let series = Series {
                dates: &dates,
                values: &values,
                qa: &qa,
            };
            composite(
                series,
                QaScheme::C1,
                16000,
                24000,
                CompositeStat::Median,
                &mut scratch,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, chip_assembly, kernels);
criterion_main!(benches);
