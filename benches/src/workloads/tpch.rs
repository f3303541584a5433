//! TPC-H: the 22 queries (`benches/tpch`, the spec's text with its validation parameters) over
//! Parquet tables from `tpchgen-cli`, ardent (local, cluster) vs Spark SQL on the same files.
//! Answers: every query's rows, in order, cell by cell.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Bench, WorkloadResult};
use crate::answers::{compare_rows, read_csv_rows, Check};
use crate::ardent::text_rows;
use crate::baseline::arg;
use crate::measure::{median, timed, Measurement};

/// Each query's rows as text, or why the engine failed it.
type Answers = BTreeMap<String, Result<Vec<Vec<String>>, String>>;

pub const TABLES: [&str; 8] = [
    "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
];

/// The queries in `dir`, `q01.sql` ... `q22.sql`, by name.
fn queries(dir: &Path) -> crate::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read queries in '{}': {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if name.starts_with('q') && path.extension().is_some_and(|e| e == "sql") {
            let sql = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
            out.push((name, sql));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(format!("no TPC-H queries (q*.sql) in '{}'", dir.display()));
    }
    Ok(out)
}

/// The TPC-H tables at `scale` as Parquet, generated with `tpchgen-cli` on first use.
fn tables(b: &Bench, scale: f64) -> crate::Result<PathBuf> {
    let dir = b.data.join(format!("tpch-sf{scale}"));
    if dir.join("lineitem.parquet").exists() {
        return Ok(dir);
    }
    let partial = b.data.join(format!("tpch-sf{scale}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    let tool = b.python.tool("tpchgen-cli");
    tracing::info!("generating TPC-H SF {scale} with {}", tool.display());
    let status = Command::new(&tool)
        .args([
            "parquet",
            "-s",
            &scale.to_string(),
            "--output-dir",
            &arg(&partial),
        ])
        .status()
        .map_err(|e| format!("cannot run '{}': {e}; run `make venv`", tool.display()))?;
    if !status.success() {
        return Err(format!("'{}' failed ({status})", tool.display()));
    }
    std::fs::rename(&partial, &dir)
        .map_err(|e| format!("cannot rename '{}': {e}", partial.display()))?;
    Ok(dir)
}

pub async fn run(b: &Bench) -> crate::Result<WorkloadResult> {
    let scale = b.sizes.tpch_scale;
    let data = tables(b, scale)?
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let queries = queries(&b.queries)?;

    let mut measurements = Vec::new();
    let mut per_query: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut answers: Vec<(String, Answers)> = Vec::new();
    for engine in &b.engines {
        for t in TABLES {
            engine
                .sql(&format!(
                    "CREATE EXTERNAL TABLE IF NOT EXISTS {t} STORED AS PARQUET LOCATION '{}'",
                    data.join(format!("{t}.parquet")).display()
                ))
                .await?;
        }
        let mut totals = vec![0.0; b.runs];
        let mut rows = BTreeMap::new();
        for (name, sql) in &queries {
            let label = format!("tpch {name} {}", engine.label);
            match timed(&label, b.runs, || engine.sql(sql)).await {
                Ok((times, batches)) => {
                    totals.iter_mut().zip(&times).for_each(|(t, s)| *t += s);
                    per_query
                        .entry(name.clone())
                        .or_default()
                        .insert(engine.label.clone(), median(&times));
                    rows.insert(name.clone(), text_rows(&batches));
                }
                Err(e) => {
                    tracing::error!("{label}: {e}");
                    rows.insert(name.clone(), Err(e));
                }
            }
        }
        measurements.push(Measurement::new(&engine.label, engine.cores, totals));
        answers.push((engine.label.clone(), rows));
    }

    let spark_dir = b.out.join("answers").join("tpch-spark");
    let report = b.python.run(
        "spark_bench.py",
        &[
            "tpch".into(),
            "--data".into(),
            arg(&data),
            "--queries".into(),
            arg(&b.queries),
            "--answers".into(),
            arg(&spark_dir),
            "--cores".into(),
            b.cores.to_string(),
            "--runs".into(),
            b.runs.to_string(),
        ],
    )?;
    let mut spark_rows = BTreeMap::new();
    for (name, times) in &report.queries {
        per_query
            .entry(name.clone())
            .or_default()
            .insert("spark".into(), median(times));
        spark_rows.insert(
            name.clone(),
            read_csv_rows(&spark_dir.join(format!("{name}.csv"))),
        );
    }
    measurements.push(report.measurement("spark"));
    let versions = report.versions.clone();
    answers.push(("spark".into(), spark_rows));

    let (reference, others) = answers.split_first().expect("ardent local runs first");
    let mut checks = Vec::new();
    for (label, rows) in others {
        let mut failures = Vec::new();
        for (name, _) in &queries {
            let outcome = match (reference.1.get(name), rows.get(name)) {
                (Some(Ok(a)), Some(Ok(b))) => compare_rows(a, b),
                (Some(Err(e)), _) => Err(format!("ardent local failed: {e}")),
                (_, Some(Err(e))) => Err(format!("failed: {e}")),
                _ => Err("no answer".into()),
            };
            if let Err(e) = outcome {
                failures.push(format!("{name}: {e}"));
            }
        }
        checks.push(Check {
            engine: label.clone(),
            agree: failures.is_empty(),
            detail: if failures.is_empty() {
                format!("{0}/{0} queries give the same rows", queries.len())
            } else {
                format!(
                    "{}/{} queries differ: {}",
                    failures.len(),
                    queries.len(),
                    failures.join("; ")
                )
            },
        });
    }
    Ok(WorkloadResult {
        name: "tpch".into(),
        title: format!("TPC-H SF {scale}, {} queries", queries.len()),
        inputs: format!(
            "tpchgen-cli Parquet, one file per table, read by every engine ({})",
            data.display()
        ),
        unit: None,
        items: queries.len() as u64,
        measurements,
        checks,
        queries: per_query,
        notes: vec!["times are the sum over the queries of each query's time".into()],
        versions,
    })
}
