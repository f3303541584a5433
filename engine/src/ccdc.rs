//! CCDC on single pixels outside SQL: pixel time series read from CSV (the format of pyccd's test
//! data) and results written as pyccd-shaped JSON, so they can be diffed against pyccd itself.

use std::path::Path;

use ardent_udfs::kernels::ccdc::{CcdResult, Series, BANDS};

use crate::error::PixelCsvError;
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
    pub fn read(path: &Path) -> Result<PixelCsv, PixelCsvError> {
        let text = std::fs::read_to_string(path).map_err(|source| PixelCsvError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|e| e.in_file(path))
    }

    pub fn parse(text: &str) -> Result<PixelCsv, PixelCsvError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, header)) if header.trim() == CSV_HEADER => {}
            Some((_, header)) => {
                return Err(PixelCsvError::Header {
                    path: None,
                    found: header.to_string(),
                    expected: CSV_HEADER,
                })
            }
            None => return Err(PixelCsvError::Empty { path: None }),
        }
        let mut pixel = PixelCsv::default();
        for (number, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let bad_line = |message: String| PixelCsvError::Line {
                path: None,
                line: number + 1,
                message,
            };
            if fields.len() != 9 {
                return Err(bad_line(format!("{} fields, expected 9", fields.len())));
            }
            let int = |i: usize| -> Result<i64, PixelCsvError> {
                fields[i]
                    .parse::<i64>()
                    .map_err(|_| bad_line(format!("'{}' is not an integer", fields[i])))
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
