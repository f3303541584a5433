//! CCDC over a synthetic stack of several chips: ardent (local, cluster) from the GeoTIFFs vs
//! pyccd on a process pool and Spark running pyccd per pixel, both from the pixels exported to
//! Parquet (reading is not in their time). Answers: every pixel's segments (start, end and break
//! days, curve_qa, change probability) must be identical.

use ardent_udfs::kernels::ccdc::ORDINAL_OF_UNIX_EPOCH;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Float64Type, Int32Type};

use super::{Bench, PixelRuns, WorkloadResult};
use crate::ardent::{text_rows, Engine};
use crate::baseline::arg;
use crate::measure::timed;

/// Days from 0001-01-01 (ordinal 1, pyccd's dates) to 1970-01-01 (Date32's epoch).
const BANDS: &str = "dates, blue, green, red, nir, swir1, swir2, thermal, qa";

/// One line per pixel, `row,col,start:end:break:curve_qa:probability;...`, as the baselines
/// write it (`bench_common.ccdc_line`), from `row, col, models` batches.
fn ccdc_lines(batches: &[RecordBatch]) -> crate::Result<Vec<String>> {
    let mut lines = Vec::new();
    for batch in batches {
        let ids = text_rows(&[batch.project(&[0, 1]).map_err(|e| e.to_string())?])?;
        let models = batch.column(2).as_list::<i32>();
        for (i, id) in ids.iter().enumerate() {
            let segments = models.value(i);
            let segments = segments.as_struct();
            let day = |name: &str, k: usize| {
                let days = segments
                    .column_by_name(name)
                    .expect(name)
                    .as_primitive::<Date32Type>();
                i64::from(days.value(k)) + ORDINAL_OF_UNIX_EPOCH
            };
            let qa = segments
                .column_by_name("curve_qa")
                .expect("curve_qa")
                .as_primitive::<Int32Type>();
            let prob = segments
                .column_by_name("change_probability")
                .expect("change_probability")
                .as_primitive::<Float64Type>();
            let text: Vec<String> = (0..segments.len())
                .map(|k| {
                    format!(
                        "{}:{}:{}:{}:{:.6}",
                        day("start_day", k),
                        day("end_day", k),
                        day("break_day", k),
                        qa.value(k),
                        prob.value(k)
                    )
                })
                .collect();
            lines.push(format!("{},{},{}", id[0], id[1], text.join(";")));
        }
    }
    Ok(lines)
}

pub async fn run(b: &Bench) -> crate::Result<WorkloadResult> {
    let stack = b.stack()?;
    let (n, chip) = (b.sizes.ccdc, b.sizes.ccdc_chip);
    let table = format!(
        "raster_pixels('{}', 'chip_size', '{chip}')",
        stack.display()
    );
    let from = format!("{table} WHERE row < {n} AND col < {n}");
    // The baselines' input: one Parquet file per chip, as LCMAP kept chips.
    let pixels = b.data.join(format!("pixels-{}-{n}-{chip}", b.sizes.stack));
    let corners: Vec<(usize, usize)> = (0..n)
        .step_by(chip)
        .flat_map(|r| (0..n).step_by(chip).map(move |c| (r, c)))
        .collect();
    let per_chip: Vec<String> = corners
        .iter()
        .map(|(r, c)| {
            format!(
                "SELECT row, col, {BANDS} FROM {table} WHERE row >= {r} AND row < {} AND col >= {c} AND col < {}",
                (r + chip).min(n),
                (c + chip).min(n)
            )
        })
        .collect();
    b.export_parquet(&per_chip, &pixels).await?;
    let select = format!("SELECT row, col, ccdc({BANDS})['change_models'] AS models FROM");
    let from_geotiff = format!("{select} {from}");
    // ardent also reads the baselines' Parquet, to compare the engines alone, reading aside.
    let from_parquet = format!("{select} '{}/'", pixels.display());
    let mut ardent_runs: Vec<(String, &Engine, &str)> = b
        .engines
        .iter()
        .map(|e| (e.label.clone(), e, from_geotiff.as_str()))
        .collect();
    let reference = b.reference();
    ardent_runs.insert(
        1,
        (
            format!("{}, from Parquet", reference.label),
            reference,
            &from_parquet,
        ),
    );

    let mut runs = PixelRuns::new(b, "ccdc", "row,col,segments");
    for (label, engine, query) in ardent_runs {
        let (times, batches) =
            timed(&format!("ccdc {label}"), b.runs, || engine.sql(query)).await?;
        runs.ardent(&label, engine.cores, times, ccdc_lines(&batches)?)?;
    }
    let cores = b.cores.to_string();
    let pixels = arg(&pixels);
    runs.baseline(
        "pyccd_pool.py",
        "pyccd",
        vec![
            "--workers".into(),
            cores.clone(),
            "--pixels".into(),
            pixels.clone(),
        ],
    )?;
    runs.baseline(
        "spark_bench.py",
        "spark + pyccd",
        vec![
            "ccdc".into(),
            "--cores".into(),
            cores,
            "--pixels".into(),
            pixels,
        ],
    )?;
    runs.finish(
        "CCDC change detection per pixel".into(),
        format!(
            "{n} x {n} px of a synthetic stack (2013-2020, Landsat 7 and 8, {} px chips: {} chips); ardent reads the GeoTIFFs, or (from Parquet) the pixels' time series that pyccd and Spark read",
            chip,
            n.div_ceil(chip).pow(2)
        ),
        |a, b| a == b,
    )
}
