//! CCDC on single pixels outside SQL: pixel time series read from CSV (the format of pyccd's test
//! data) and results written as pyccd-shaped JSON, so they can be diffed against pyccd itself.

use std::path::Path;

use ardent_udfs::kernels::ccdc::{CcdResult, Series, BANDS};
use serde_json::{json, Map, Value};

/// The columns of a pixel CSV, in order.
pub const CSV_HEADER: &str = "ordinal_date,blue,green,red,nir,swir1,swir2,thermal,qa";

/// One pixel's observations as read from CSV.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PixelCsv {
    pub dates: Vec<i64>,
    pub bands: [Vec<f64>; 7],
    pub qa: Vec<i64>,
}

impl PixelCsv {
    /// Reads `ordinal_date,blue,green,red,nir,swir1,swir2,thermal,qa` rows.
    pub fn read(path: &Path) -> Result<PixelCsv, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("'{}': {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<PixelCsv, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, header)) if header.trim() == CSV_HEADER => {}
            Some((_, header)) => {
                return Err(format!("header is '{header}', expected '{CSV_HEADER}'"))
            }
            None => return Err("empty file".into()),
        }
        let mut pixel = PixelCsv::default();
        for (number, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != 9 {
                return Err(format!(
                    "line {}: {} fields, expected 9",
                    number + 1,
                    fields.len()
                ));
            }
            let int = |i: usize| -> Result<i64, String> {
                fields[i]
                    .parse::<i64>()
                    .map_err(|_| format!("line {}: '{}' is not an integer", number + 1, fields[i]))
            };
            pixel.dates.push(int(0)?);
            for (b, band) in pixel.bands.iter_mut().enumerate() {
                band.push(int(b + 1)? as f64);
            }
            pixel.qa.push(int(8)?);
        }
        Ok(pixel)
    }

    pub fn series(&self) -> Series<'_> {
        Series {
            dates: &self.dates,
            bands: std::array::from_fn(|b| self.bands[b].as_slice()),
            qa: &self.qa,
        }
    }
}

/// The result as `ccd.detect` returns it: pyccd's keys, ordinal days, masks as 0/1.
pub fn to_pyccd_json(result: &CcdResult) -> Value {
    let models: Vec<Value> = result
        .change_models
        .iter()
        .map(|m| {
            let mut model = Map::new();
            model.insert("start_day".into(), json!(m.start_day));
            model.insert("end_day".into(), json!(m.end_day));
            model.insert("break_day".into(), json!(m.break_day));
            model.insert("observation_count".into(), json!(m.observation_count));
            model.insert("change_probability".into(), json!(m.change_probability));
            model.insert("curve_qa".into(), json!(m.curve_qa));
            for (name, band) in BANDS.iter().zip(&m.bands) {
                model.insert(
                    (*name).into(),
                    json!({
                        "rmse": band.rmse,
                        "coefficients": band.coefficients,
                        "intercept": band.intercept,
                        "magnitude": band.magnitude,
                    }),
                );
            }
            Value::Object(model)
        })
        .collect();
    json!({
        "algorithm": "ardent-ccdc:pyccd-2021.7.19",
        "processing_mask": result.processing_mask.iter().map(|&m| u8::from(m)).collect::<Vec<_>>(),
        "change_models": models,
        "cloud_prob": result.cloud_prob,
        "snow_prob": result.snow_prob,
        "water_prob": result.water_prob,
    })
}

/// Draws what lcmap-tap shows for a pixel: one panel per band with the observations (those the
/// procedure left out in grey), each segment's fitted curve, and its break as a dashed line.
pub fn plot(
    pixel: &PixelCsv,
    result: &CcdResult,
    avg_days_yr: f64,
    path: &Path,
) -> Result<(), String> {
    use plotters::prelude::*;
    let mut order: Vec<usize> = (0..pixel.dates.len()).collect();
    order.sort_by_key(|&i| pixel.dates[i]);
    // The standard procedure works on thermal in C x 100; the single-model ones on K x 10.
    let celsius = result
        .change_models
        .first()
        .is_some_and(|m| m.curve_qa != 44 && m.curve_qa != 54);
    let year = |ordinal: f64| 1.0 + (ordinal - 1.0) / 365.2425;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    crate::output::write_atomically(path, |partial| {
        let root = BitMapBackend::new(partial, (1400, 1600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((4, 2));
        let (first, last) = (
            pixel.dates[order[0]] as f64,
            pixel.dates[order[order.len() - 1]] as f64,
        );
        for (b, panel) in panels.iter().take(7).enumerate() {
            let value = |i: usize| {
                let v = pixel.bands[b][i];
                if b == 6 && celsius {
                    v * 10.0 - 27315.0
                } else {
                    v
                }
            };
            // Scaled to the observations the procedure used (cloud and saturation fall outside).
            let used = |k: usize| result.processing_mask.get(k).copied().unwrap_or(false);
            let shown: Vec<f64> = order
                .iter()
                .enumerate()
                .filter(|(k, _)| used(*k))
                .map(|(_, &i)| value(i))
                .collect();
            let lo = shown.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = shown.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let pad = (hi - lo) * 0.1;
            let (lo, hi) = if lo < hi {
                (lo - pad, hi + pad)
            } else {
                (0.0, 10000.0)
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(BANDS[b], ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(56)
                .build_cartesian_2d(year(first)..year(last), lo..hi)
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_label_formatter(&|y| format!("{y:.0}"))
                .draw()
                .map_err(|e| err(&e))?;
            let points = order.iter().enumerate().filter_map(|(k, &i)| {
                let v = value(i);
                (lo..=hi).contains(&v).then(|| {
                    let color = if used(k) {
                        BLUE.mix(0.8)
                    } else {
                        RGBColor(170, 170, 170).mix(0.6)
                    };
                    Circle::new((year(pixel.dates[i] as f64), v), 2, color.filled())
                })
            });
            chart.draw_series(points).map_err(|e| err(&e))?;
            for model in &result.change_models {
                let band = &model.bands[b];
                let (s, e) = (model.start_day as f64, model.end_day as f64);
                let curve = (0..=((e - s) / 4.0) as usize)
                    .map(|k| s + 4.0 * k as f64)
                    .map(|d| (year(d), band.predict(d, avg_days_yr).clamp(lo, hi)));
                chart
                    .draw_series(LineSeries::new(curve, RED.stroke_width(2)))
                    .map_err(|e| err(&e))?;
                if model.change_probability >= 1.0 {
                    let x = year(model.break_day as f64);
                    chart
                        .draw_series(DashedLineSeries::new(
                            [(x, lo), (x, hi)],
                            6,
                            4,
                            BLACK.stroke_width(1),
                        ))
                        .map_err(|e| err(&e))?;
                }
            }
        }
        root.present().map_err(|e| err(&e))
    })
    .map_err(|e| e.to_string())
}
