//! The cache: CCDC segments of a square of the synthetic stack cached once (`CACHE TABLE`),
//! then three queries on them, each timed against the same query recomputing CCDC, under each
//! ardent master. Answers: the cached query's rows equal the recomputed query's. The report
//! adds the cache's memory and disk footprint against the Arrow size of the segments.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Bench, WorkloadResult};
use crate::answers::{compare_rows, Check};
use crate::ardent::text_rows;
use crate::measure::{median, timed, Measurement};

const BANDS: &str = "dates, blue, green, red, nir, swir1, swir2, thermal, qa";

/// The three queries of the workload, over `{segs}` (a table or a subquery), `{chip}` the
/// chip side.
const QUERIES: [(&str, &str); 3] = [
    (
        "segments per chip",
        "SELECT CAST(row / {chip} AS INT) AS chip_row, CAST(col / {chip} AS INT) AS chip_col,
                sum(cardinality(c['change_models'])) AS segments
         FROM {segs} GROUP BY chip_row, chip_col ORDER BY chip_row, chip_col",
    ),
    (
        "change map (last break year)",
        "SELECT row, col, max(CAST(date_part('year', m['break_day']) AS INT)) AS last_break_year
         FROM (SELECT row, col, unnest(c['change_models']) AS m FROM {segs})
         WHERE m['change_probability'] = 1 GROUP BY row, col ORDER BY row, col",
    ),
    (
        "join with the truth",
        "SELECT t.change_date IS NOT NULL AS changed, count(*) AS pixels, sum(s.n) AS segments
         FROM (SELECT row, col, cardinality(c['change_models']) AS n FROM {segs}) s
         JOIN bench_truth t ON s.row = t.row AND s.col = t.col
         GROUP BY changed ORDER BY changed",
    ),
];

/// A number of `SHOW CACHES`' one row (the cache just made).
fn shown(batches: &[datafusion::arrow::array::RecordBatch], column: &str) -> crate::Result<u64> {
    let rows = text_rows(batches)?;
    let schema = batches.first().ok_or("SHOW CACHES gave nothing")?.schema();
    let i = schema
        .index_of(column)
        .map_err(|_| format!("SHOW CACHES has no column {column}"))?;
    let row = rows.first().ok_or("the cache is not listed")?;
    row[i]
        .parse()
        .map_err(|_| format!("SHOW CACHES {column} '{}' is not a number", row[i]))
}

pub async fn run(b: &Bench) -> crate::Result<WorkloadResult> {
    let stack = b.stack()?;
    let (n, chip) = (b.sizes.cache, b.sizes.ccdc_chip);
    let lineage = format!(
        "SELECT row, col, ccdc({BANDS}) AS c FROM raster_pixels('{}', 'chip_size', '{chip}') WHERE row < {n} AND col < {n}",
        stack.display()
    );
    let mut measurements = Vec::new();
    let mut queries: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    for engine in &b.engines {
        engine
            .sql(&format!(
                "CREATE EXTERNAL TABLE IF NOT EXISTS bench_truth STORED AS CSV LOCATION '{}/truth.csv' OPTIONS ('format.has_header' 'true')",
                stack.display()
            ))
            .await?;
        let recomputed = format!("{}, recomputing CCDC", engine.label);
        let cached = format!("{}, cached", engine.label);
        let (mut total_recomputed, mut total_cached) = (Vec::new(), Vec::new());
        let mut answers = Vec::new();
        for (name, sql) in QUERIES {
            let sql = sql
                .replace("{segs}", &format!("({lineage})"))
                .replace("{chip}", &chip.to_string());
            let (times, batches) = timed(&format!("cache {recomputed}: {name}"), b.runs, || {
                engine.sql(&sql)
            })
            .await?;
            queries
                .entry(name.to_string())
                .or_default()
                .insert(recomputed.clone(), median(&times));
            total_recomputed.push(times);
            answers.push(text_rows(&batches)?);
        }
        let start = Instant::now();
        let filled = engine
            .sql(&format!("CACHE TABLE bench_segs AS {lineage}"))
            .await?;
        let fill = start.elapsed().as_secs_f64();
        let memory = shown(&filled, "memory_bytes")?;
        let disk = shown(&filled, "disk_bytes")?;
        let mut agree = Vec::new();
        for ((name, sql), recomputed_rows) in QUERIES.iter().zip(&answers) {
            let sql = sql
                .replace("{segs}", "bench_segs")
                .replace("{chip}", &chip.to_string());
            let (times, batches) = timed(&format!("cache {cached}: {name}"), b.runs, || {
                engine.sql(&sql)
            })
            .await?;
            let speedup = queries[*name][&recomputed] / median(&times);
            notes.push(format!(
                "{}: {name}: cached {speedup:.1}x faster than recomputing CCDC",
                engine.label
            ));
            queries
                .entry(name.to_string())
                .or_default()
                .insert(cached.clone(), median(&times));
            total_cached.push(times);
            agree.push(
                compare_rows(recomputed_rows, &text_rows(&batches)?)
                    .map_err(|e| format!("{name}: {e}")),
            );
        }
        // The same segments kept as zstd Arrow IPC files, read from the cache just made.
        let on_disk = engine
            .sql("CACHE TABLE bench_segs_disk OPTIONS ('storage' 'disk') AS SELECT * FROM bench_segs")
            .await?;
        let files = shown(&on_disk, "disk_bytes")?;
        engine
            .sql("UNCACHE TABLE bench_segs; DROP VIEW bench_segs; UNCACHE TABLE bench_segs_disk; DROP VIEW bench_segs_disk")
            .await?;
        notes.push(format!(
            "{}: filling the cache took {fill:.2} s; it holds {memory} bytes in memory (the Arrow size of the segments) and {disk} on disk; with 'storage' 'disk' they take {files} bytes ({:.0}% of the Arrow size)",
            engine.label,
            100.0 * files as f64 / memory.max(1) as f64
        ));
        let failed: Vec<String> = agree.into_iter().filter_map(Result::err).collect();
        checks.push(Check {
            engine: cached.clone(),
            agree: failed.is_empty(),
            detail: if failed.is_empty() {
                format!(
                    "the {} queries' rows equal the recomputed ones",
                    QUERIES.len()
                )
            } else {
                failed.join("; ")
            },
        });
        let sum = |runs: &[Vec<f64>]| -> Vec<f64> {
            (0..b.runs)
                .map(|k| runs.iter().map(|t| t[k]).sum())
                .collect()
        };
        measurements.push(Measurement::new(
            &recomputed,
            engine.cores,
            sum(&total_recomputed),
        ));
        measurements.push(Measurement::new(&cached, engine.cores, sum(&total_cached)));
    }
    Ok(WorkloadResult {
        name: "cache".into(),
        title: "Cached CCDC segments against recomputing them".into(),
        inputs: format!(
            "CCDC segments of {n} x {n} px of the synthetic stack ({chip} px chips), cached with CACHE TABLE, then three queries (segments per chip, change map of the last break year, a join with the generator's truth); times are the three queries' total",
        ),
        unit: None,
        items: (n * n) as u64,
        measurements,
        checks,
        queries,
        notes,
        versions: BTreeMap::new(),
    })
}
