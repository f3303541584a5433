//! What ran where: the machine, its cores, the build and the versions of everything measured.

use std::collections::BTreeMap;
use std::process::Command;

use serde::Serialize;

/// The machine and build a report was measured on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub os: String,
    pub kernel: String,
    /// `release` or `debug`: debug timings only show that the harness works.
    pub build: String,
    /// Component name to version (ardent's side here; baselines add theirs).
    pub versions: BTreeMap<String, String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn first_value(text: &str, key: &str, separator: char) -> Option<String> {
    text.lines()
        .filter_map(|l| l.split_once(separator))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

impl Machine {
    /// Reads this machine (Linux `/proc` and `/etc/os-release`; unknown fields stay empty).
    pub fn detect() -> Machine {
        let meminfo = read("/proc/meminfo");
        let memory_kib: f64 = first_value(&meminfo, "MemTotal", ':')
            .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let mut versions = BTreeMap::new();
        versions.insert("ardent".into(), env!("CARGO_PKG_VERSION").into());
        versions.insert("datafusion".into(), datafusion::DATAFUSION_VERSION.into());
        versions.insert(
            "ballista".into(),
            ardent_engine::distributed::BALLISTA_VERSION.into(),
        );
        versions.insert("gdal".into(), ardent_engine::gdal_io::gdal_version());
        if let Some(rustc) = command_output("rustc", &["--version"]) {
            let version = rustc.trim_start_matches("rustc ").to_string();
            versions.insert("rustc".into(), version);
        }
        Machine {
            cpu: first_value(&read("/proc/cpuinfo"), "model name", ':').unwrap_or_default(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (memory_kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
            os: first_value(&read("/etc/os-release"), "PRETTY_NAME", '=').unwrap_or_default(),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .into(),
            versions,
        }
    }
}
