//! The report: `report.json` (everything measured), `report.md` (tables the harness also prints)
//! and a PNG chart per workload, in the results folder.

use std::fmt::Write as _;
use std::path::Path;

use ardent_engine::output::write_atomically;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use crate::machine::Machine;
use crate::workloads::{Sizes, WorkloadResult};

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// When it was measured (UTC).
    pub date: String,
    /// `quick` or `full`.
    pub mode: String,
    pub runs: usize,
    pub sizes: Sizes,
    pub machine: Machine,
    pub workloads: Vec<WorkloadResult>,
}

fn seconds(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.2}x")
    }
}

impl Report {
    /// Writes `report.json`, `report.md` and the charts to `dir`; returns the markdown.
    pub fn write(&self, dir: &Path) -> crate::Result<String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write '{}': {e}", path.display()))
        };
        write("report.json", &json)?;
        for w in &self.workloads {
            chart(&dir.join(format!("{}.png", w.name)), w)?;
        }
        let markdown = self.markdown();
        write("report.md", &markdown)?;
        Ok(markdown)
    }

    /// Whether every engine gave the reference's answer in every workload.
    pub fn answers_agree(&self) -> bool {
        self.workloads
            .iter()
            .all(|w| w.checks.iter().all(|c| c.agree))
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let mut all = m.versions.clone();
        for w in &self.workloads {
            all.extend(w.versions.clone());
        }
        let versions: Vec<String> = all.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "# ardent benchmark report ({} mode)\n", self.mode);
        let _ = writeln!(
            s,
            "Measured {} on {} ({} cores, {} GiB), {}, Linux {}; {} build. Each time is the median of {} runs after a warm-up, inside each engine's own process (start-up excluded).\n",
            self.date, m.cpu, m.cores, m.memory_gib, m.os, m.kernel, m.build, self.runs
        );
        let _ = writeln!(s, "Versions: {}.\n", versions.join(", "));
        if m.build == "debug" {
            let _ = writeln!(
                s,
                "**Debug build: these times only show that the harness works.**\n"
            );
        }
        for w in &self.workloads {
            let _ = writeln!(s, "## {}\n\n{}.\n", w.title, w.inputs);
            let reference = w.measurements.first().map_or(f64::NAN, |m| m.median);
            match &w.unit {
                Some(unit) => {
                    let _ = writeln!(s, "| engine | cores | time | {unit}/s | {unit}/s per core | ardent local is |");
                    let _ = writeln!(s, "|---|---|---|---|---|---|");
                    for x in &w.measurements {
                        let rate = w.items as f64 / x.median;
                        let _ = writeln!(
                            s,
                            "| {} | {} | {} | {:.1} | {:.1} | {} |",
                            x.engine,
                            x.cores,
                            seconds(x.median),
                            rate,
                            rate / x.cores as f64,
                            faster(x.median / reference)
                        );
                    }
                }
                None => {
                    let _ = writeln!(s, "| engine | cores | total | ardent local is |");
                    let _ = writeln!(s, "|---|---|---|---|");
                    for x in &w.measurements {
                        let _ = writeln!(
                            s,
                            "| {} | {} | {} | {} |",
                            x.engine,
                            x.cores,
                            seconds(x.median),
                            faster(x.median / reference)
                        );
                    }
                }
            }
            if !w.queries.is_empty() {
                let engines: Vec<&str> = w.measurements.iter().map(|m| m.engine.as_str()).collect();
                let _ = writeln!(s, "\n| query | {} |", engines.join(" | "));
                let _ = writeln!(s, "|---|{}", "---|".repeat(engines.len()));
                for (q, times) in &w.queries {
                    let cells: Vec<String> = engines
                        .iter()
                        .map(|e| times.get(*e).map_or("failed".into(), |t| seconds(*t)))
                        .collect();
                    let _ = writeln!(s, "| {q} | {} |", cells.join(" | "));
                }
            }
            let _ = writeln!(s, "\nAnswers, against ardent local:\n");
            for c in &w.checks {
                let _ = writeln!(
                    s,
                    "- {}: {} ({})",
                    c.engine,
                    if c.agree { "same" } else { "DIFFERENT" },
                    c.detail
                );
            }
            for n in &w.notes {
                let _ = writeln!(s, "- {n}");
            }
            let _ = writeln!(s, "\n![{}]({}.png)\n", w.title, w.name);
        }
        s
    }
}

/// `x` as "N x faster" (or "slower") wording for the ratio other / ardent local.
fn faster(r: f64) -> String {
    if !r.is_finite() {
        "-".into()
    } else if (r - 1.0).abs() < 0.005 {
        "reference".into()
    } else if r > 1.0 {
        format!("{} faster", ratio(r))
    } else {
        format!("{} slower", ratio(1.0 / r))
    }
}

/// Median seconds per engine, grouped by query for TPC-H, as bars on a log scale.
fn chart(path: &Path, w: &WorkloadResult) -> crate::Result<()> {
    let engines: Vec<&str> = w.measurements.iter().map(|m| m.engine.as_str()).collect();
    let (groups, values): (Vec<String>, Vec<Vec<Option<f64>>>) = if w.queries.is_empty() {
        (
            vec![w.name.to_uppercase()],
            vec![w.measurements.iter().map(|m| Some(m.median)).collect()],
        )
    } else {
        w.queries
            .iter()
            .map(|(q, t)| {
                (
                    q.clone(),
                    engines.iter().map(|e| t.get(*e).copied()).collect(),
                )
            })
            .unzip()
    };
    let all: Vec<f64> = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| *v > 0.0)
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    // Whole decades, so the log axis always has labelled ticks.
    let decade = |v: f64, round: fn(f64) -> f64| 10f64.powf(round(v.log10()));
    let lo = decade(
        all.iter().copied().fold(f64::INFINITY, f64::min) / 1.5,
        f64::floor,
    );
    let hi = decade(all.iter().copied().fold(0.0, f64::max) * 1.5, f64::ceil);
    let width = (240 + 60 * groups.len() * engines.len()).clamp(640, 1800) as u32;
    write_atomically(path, |partial| {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let root = BitMapBackend::new(partial, (width, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{} (median seconds, lower is better)", w.title),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..groups.len() as f64, (lo..hi).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("seconds")
            .draw()
            .map_err(|e| err(&e))?;
        let width = 0.8 / engines.len() as f64;
        for (j, engine) in engines.iter().enumerate() {
            let color = Palette99::pick(j).to_rgba();
            let bars = values.iter().enumerate().filter_map(|(i, v)| {
                let x0 = i as f64 + 0.1 + j as f64 * width;
                v[j].map(|t| Rectangle::new([(x0, lo), (x0 + width * 0.9, t)], color.filled()))
            });
            chart
                .draw_series(bars)
                .map_err(|e| err(&e))?
                .label(*engine)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            // One group: each bar carries its time.
            if let [Some(t)] = values.iter().map(|v| v[j]).collect::<Vec<_>>()[..] {
                let x = 0.1 + (j as f64 + 0.45) * width;
                let style = ("sans-serif", 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                chart
                    .draw_series(std::iter::once(Text::new(seconds(t), (x, t), style)))
                    .map_err(|e| err(&e))?;
            }
        }
        for (i, g) in groups.iter().enumerate() {
            let style = ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top));
            chart
                .draw_series(std::iter::once(Text::new(
                    g.clone(),
                    (i as f64 + 0.5, lo),
                    style,
                )))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))
    })
    .map_err(|e| e.to_string())
}
