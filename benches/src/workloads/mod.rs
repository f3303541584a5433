//! The workloads, and what they share: the benchmark's settings, its engines and its inputs.

pub mod cache;
pub mod ccdc;
pub mod ndvi;
pub mod tpch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ardent_engine::synth::{generate, SynthConfig};
use chrono::NaiveDate;
use serde::Serialize;

use crate::answers::{compare_keyed, read_keyed, Check};
use crate::ardent::Engine;
use crate::baseline::Python;
use crate::measure::Measurement;

/// How big the inputs are.
#[derive(Clone, Debug, Serialize)]
pub struct Sizes {
    /// Side of the synthetic stack in pixels (2013-2020, Landsat 7 and 8).
    pub stack: usize,
    /// Side of the square of pixels CCDC runs on (pyccd needs about 0.2 s a pixel).
    pub ccdc: usize,
    /// Chip side for the CCDC table, so the square spans several chips.
    pub ccdc_chip: usize,
    /// Side of the square whose CCDC segments the cache workload caches.
    pub cache: usize,
    /// The year of the NDVI composite.
    pub year: i32,
    /// TPC-H scale factor.
    pub tpch_scale: f64,
}

impl Sizes {
    /// The full benchmark: a 200 x 200 px stack, CCDC on 40 x 40 px (4 chips), the cache over
    /// CCDC on 100 x 100 px, TPC-H SF 1.
    pub fn full() -> Sizes {
        Sizes {
            stack: 200,
            ccdc: 40,
            ccdc_chip: 20,
            cache: 100,
            year: 2016,
            tpch_scale: 1.0,
        }
    }

    /// Quick mode, to keep the harness working: minutes, not representative timings.
    pub fn quick() -> Sizes {
        Sizes {
            stack: 24,
            ccdc: 8,
            ccdc_chip: 4,
            cache: 8,
            year: 2016,
            tpch_scale: 0.01,
        }
    }
}

/// What a benchmark run needs.
pub struct Bench {
    /// Results: answers, report, charts.
    pub out: PathBuf,
    /// Inputs, kept between runs of the harness (generated once per size).
    pub data: PathBuf,
    pub runs: usize,
    pub sizes: Sizes,
    /// Cores the baselines get: the machine's, as ardent local uses.
    pub cores: usize,
    pub python: Python,
    /// ardent local first (its answers are the reference), then the cluster if any.
    pub engines: Vec<Engine>,
    /// `benches/tpch`: the 22 queries.
    pub queries: PathBuf,
}

/// One workload's section of the report.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadResult {
    pub name: String,
    pub title: String,
    /// The inputs, in words.
    pub inputs: String,
    /// What throughput counts (`pixels`), if anything.
    pub unit: Option<String>,
    pub items: u64,
    pub measurements: Vec<Measurement>,
    pub checks: Vec<Check>,
    /// Per query, each engine's median seconds (TPC-H).
    pub queries: BTreeMap<String, BTreeMap<String, f64>>,
    pub notes: Vec<String>,
    /// The baselines' components and versions, as they reported them.
    pub versions: BTreeMap<String, String>,
}

impl Bench {
    /// The reference engine (ardent local).
    pub fn reference(&self) -> &Engine {
        &self.engines[0]
    }

    /// Where an engine's answer goes: `out/answers/<workload>-<engine>.csv`.
    pub fn answer_path(&self, workload: &str, engine: &str) -> PathBuf {
        self.out
            .join("answers")
            .join(format!("{workload}-{}.csv", engine.replace(' ', "-")))
    }

    /// The synthetic stack, generated on first use.
    pub fn stack(&self) -> crate::Result<PathBuf> {
        let dir = self.data.join(format!("stack-{}", self.sizes.stack));
        if !dir.join("synth.json").exists() {
            tracing::info!(
                "generating a {0} x {0} px synthetic stack in {1}",
                self.sizes.stack,
                dir.display()
            );
            let _ = std::fs::remove_dir_all(&dir);
            generate(
                &SynthConfig {
                    out: dir.clone(),
                    size: self.sizes.stack,
                    start: NaiveDate::from_ymd_opt(2013, 1, 1).expect("date"),
                    end: NaiveDate::from_ymd_opt(2020, 12, 31).expect("date"),
                    ..SynthConfig::default()
                },
                &|_, _| {},
            )
            .map_err(|e| e.to_string())?;
        }
        dir.canonicalize()
            .map_err(|e| format!("cannot resolve '{}': {e}", dir.display()))
    }

    /// Writes the result of each of `selects` to `dir` as Parquet, `part-<k>.parquet`, with
    /// ardent local, once: into a temporary folder, renamed into place when complete.
    pub async fn export_parquet(&self, selects: &[String], dir: &Path) -> crate::Result<()> {
        if dir.exists() {
            return Ok(());
        }
        tracing::info!("exporting the baselines' input to {}", dir.display());
        let partial = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial)
            .map_err(|e| format!("cannot create '{}': {e}", partial.display()))?;
        for (k, select) in selects.iter().enumerate() {
            let file = partial.join(format!("part-{k}.parquet"));
            self.reference()
                .sql(&format!(
                    "COPY ({select}) TO '{}' STORED AS PARQUET",
                    file.display()
                ))
                .await?;
        }
        std::fs::rename(&partial, dir)
            .map_err(|e| format!("cannot rename '{}': {e}", partial.display()))
    }
}

/// What a per-pixel workload gathers from its engines: times, answer files (ardent local's
/// first, the reference) and the baselines' versions; then the answers' agreement.
pub struct PixelRuns<'a> {
    bench: &'a Bench,
    workload: &'static str,
    header: &'static str,
    measurements: Vec<Measurement>,
    answers: Vec<(String, PathBuf)>,
    versions: BTreeMap<String, String>,
}

impl<'a> PixelRuns<'a> {
    /// `header` heads the answer files, whose lines are `row,col,value`.
    pub fn new(bench: &'a Bench, workload: &'static str, header: &'static str) -> Self {
        Self {
            bench,
            workload,
            header,
            measurements: Vec::new(),
            answers: Vec::new(),
            versions: BTreeMap::new(),
        }
    }

    /// Records an ardent run: its times and its answer lines.
    pub fn ardent(
        &mut self,
        label: &str,
        cores: usize,
        times: Vec<f64>,
        lines: Vec<String>,
    ) -> crate::Result<()> {
        let path = self.bench.answer_path(self.workload, label);
        write_answer(&path, self.header, lines)?;
        self.measurements
            .push(Measurement::new(label, cores, times));
        self.answers.push((label.to_string(), path));
        Ok(())
    }

    /// Runs a baseline program with `args` plus the run count and its answer file.
    pub fn baseline(
        &mut self,
        script: &str,
        label: &str,
        mut args: Vec<String>,
    ) -> crate::Result<()> {
        let path = self.bench.answer_path(self.workload, label);
        args.extend([
            "--runs".into(),
            self.bench.runs.to_string(),
            "--answer".into(),
            path.display().to_string(),
        ]);
        let report = self.bench.python.run(script, &args)?;
        self.measurements.push(report.measurement(label));
        self.versions.extend(report.versions);
        self.answers.push((label.to_string(), path));
        Ok(())
    }

    /// Compares every answer with the reference's by `same`; the result, counting the
    /// reference's pixels, has no queries or notes yet.
    pub fn finish(
        self,
        title: String,
        inputs: String,
        same: impl Fn(&str, &str) -> bool,
    ) -> crate::Result<WorkloadResult> {
        let (_, first) = self.answers.first().ok_or("no engine ran")?;
        let reference = read_keyed(first)?;
        let mut checks = Vec::new();
        for (label, path) in &self.answers[1..] {
            checks.push(compare_keyed(label, &reference, &read_keyed(path)?, &same));
        }
        Ok(WorkloadResult {
            name: self.workload.into(),
            title,
            inputs,
            unit: Some("pixels".into()),
            items: reference.len() as u64,
            measurements: self.measurements,
            checks,
            queries: Default::default(),
            notes: vec![],
            versions: self.versions,
        })
    }
}

/// Writes answer lines (sorted, after a header) to `path`.
pub fn write_answer(path: &Path, header: &str, mut lines: Vec<String>) -> crate::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
    }
    lines.sort();
    let mut text = format!("{header}\n");
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write '{}': {e}", path.display()))
}
