//! The baselines: Python programs in `benches/baselines` that time themselves after a warm-up
//! and print one JSON line (`bench_common.report`) on stdout; their progress goes to stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::measure::Measurement;

/// Where the Python programs and their interpreter are.
#[derive(Clone, Debug)]
pub struct Python {
    /// The interpreter of the venv with pyccd, pyspark, rasterio and tpchgen-cli (`make venv`).
    pub exe: PathBuf,
    /// `benches/baselines`.
    pub scripts: PathBuf,
}

/// What a baseline program reports.
#[derive(Clone, Debug, Deserialize)]
pub struct BaselineRun {
    pub engine: String,
    pub times: Vec<f64>,
    #[serde(default = "one")]
    pub workers: usize,
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// Per-query seconds (TPC-H).
    #[serde(default)]
    pub queries: BTreeMap<String, Vec<f64>>,
}

fn one() -> usize {
    1
}

impl BaselineRun {
    pub fn measurement(&self, label: &str) -> Measurement {
        Measurement::new(label, self.workers, self.times.clone())
    }
}

impl Python {
    /// A tool installed beside the interpreter (e.g. `tpchgen-cli`).
    pub fn tool(&self, name: &str) -> PathBuf {
        self.exe.with_file_name(name)
    }

    /// Checks that the interpreter exists and imports `modules`, so a missing venv is one clear
    /// error before any work starts.
    pub fn check(&self, modules: &[&str]) -> crate::Result<()> {
        let out = Command::new(&self.exe)
            .arg("-c")
            .arg(format!("import {}", modules.join(", ")))
            .output()
            .map_err(|e| {
                format!(
                    "cannot run Python '{}': {e}; run `make venv` or pass --python",
                    self.exe.display()
                )
            })?;
        if !out.status.success() {
            return Err(format!(
                "Python '{}' lacks what the baselines need ({}): {}; run `make venv`",
                self.exe.display(),
                modules.join(", "),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
        }
        Ok(())
    }

    /// Runs `script` with `args` and reads its report.
    pub fn run(&self, script: &str, args: &[String]) -> crate::Result<BaselineRun> {
        let path = self.scripts.join(script);
        tracing::info!("running {} {}", path.display(), args.join(" "));
        let out = Command::new(&self.exe)
            .arg(&path)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "baseline {} failed ({}); its messages are above",
                path.display(),
                out.status
            ));
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .ok_or_else(|| format!("baseline {} printed no report", path.display()))?;
        serde_json::from_str(line).map_err(|e| {
            format!(
                "baseline {} printed an unreadable report: {e}",
                path.display()
            )
        })
    }
}

/// `path` as an argument string.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}
