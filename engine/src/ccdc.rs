//! CCDC on single pixels outside SQL: pixel time series read from CSV (the format of pyccd's test
//! data) and results written as pyccd-shaped JSON, so they can be diffed against pyccd itself.

use std::path::Path;

use ardent_udfs::kernels::ccdc::{
    BandModel, CcdResult, ChangeModel, Continuation, Series, Step, BANDS,
};

use crate::error::{PixelCsvError, PyccdJsonError};
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

/// The key of ardent's continuation in a pyccd-shaped result (pyccd ignores it).
pub const CONTINUATION_KEY: &str = "ardent_continuation";

/// The result as `ccd.detect` returns it: pyccd's keys, ordinal days, masks as 0/1; and the
/// detection's continuation under [`CONTINUATION_KEY`] when it has one.
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
    let mut value = json!({
        "algorithm": "ardent-ccdc:pyccd-2021.7.19",
        "processing_mask": result.processing_mask.iter().map(|&m| u8::from(m)).collect::<Vec<_>>(),
        "change_models": models,
        "cloud_prob": result.cloud_prob,
        "snow_prob": result.snow_prob,
        "water_prob": result.water_prob,
    });
    if let Some(c) = &result.continuation {
        value[CONTINUATION_KEY] = json!({
            "step": c.step.name(),
            "window": [c.window.0, c.window.1],
            "fit_window": c.fit_window.map(|w| [w.0, w.1]),
            "previous_end": c.previous_end,
            "start": c.start,
            "segments": c.segments,
        });
    }
    value
}

/// The continuation under [`CONTINUATION_KEY`], if any.
fn continuation_from_json(value: &Value) -> Result<Option<Continuation>, String> {
    let c = &value[CONTINUATION_KEY];
    if c.is_null() {
        return Ok(None);
    }
    let bad = |what: &str| format!("'{CONTINUATION_KEY}.{what}' is missing or malformed");
    let position = |v: &Value, what: &str| -> Result<usize, String> {
        v.as_u64().map(|p| p as usize).ok_or_else(|| bad(what))
    };
    let pair = |v: &Value, what: &str| -> Result<(usize, usize), String> {
        Ok((position(&v[0], what)?, position(&v[1], what)?))
    };
    Ok(Some(Continuation {
        step: c["step"]
            .as_str()
            .and_then(Step::from_name)
            .ok_or_else(|| bad("step"))?,
        window: pair(&c["window"], "window")?,
        fit_window: match &c["fit_window"] {
            Value::Null => None,
            v => Some(pair(v, "fit_window")?),
        },
        previous_end: position(&c["previous_end"], "previous_end")?,
        start: c["start"].as_bool().ok_or_else(|| bad("start"))?,
        segments: position(&c["segments"], "segments")?,
    }))
}

/// Reads a result written by [`to_pyccd_json`] or by pyccd itself (`json.dump` of what
/// `ccd.detect` returned), as the previous result of an update.
pub fn read_pyccd_json(path: &Path) -> Result<CcdResult, PyccdJsonError> {
    let error = |message: String| PyccdJsonError {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    from_pyccd_json(&value).map_err(error)
}

/// The result in a pyccd-shaped JSON value; the error names the missing or mistyped key.
pub fn from_pyccd_json(value: &Value) -> Result<CcdResult, String> {
    fn number(v: &Value, key: &str) -> Result<f64, String> {
        v[key]
            .as_f64()
            .ok_or_else(|| format!("'{key}' is missing or not a number"))
    }
    // pyccd's numpy integers and booleans reach JSON as floats (`json.dump(default=float)`).
    fn integer(v: &Value) -> Option<i64> {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    }
    fn day(v: &Value, key: &str) -> Result<i64, String> {
        integer(&v[key]).ok_or_else(|| format!("'{key}' is missing or not an integer"))
    }
    let band = |m: &Value, name: &str| -> Result<BandModel, String> {
        let b = &m[name];
        let coefficients: Vec<f64> = b["coefficients"]
            .as_array()
            .ok_or_else(|| format!("'{name}.coefficients' is missing"))?
            .iter()
            .map(|c| {
                c.as_f64()
                    .ok_or_else(|| format!("'{name}.coefficients' holds a non-number"))
            })
            .collect::<Result<_, _>>()?;
        Ok(BandModel {
            magnitude: number(b, "magnitude").map_err(|e| format!("{name}: {e}"))?,
            rmse: number(b, "rmse").map_err(|e| format!("{name}: {e}"))?,
            coefficients: coefficients.try_into().map_err(|c: Vec<f64>| {
                format!("'{name}.coefficients' has {} values, not 7", c.len())
            })?,
            intercept: number(b, "intercept").map_err(|e| format!("{name}: {e}"))?,
        })
    };
    let models = value["change_models"]
        .as_array()
        .ok_or("'change_models' is missing")?
        .iter()
        .map(|m| {
            let bands: Vec<BandModel> = BANDS
                .iter()
                .map(|name| band(m, name))
                .collect::<Result<_, _>>()?;
            Ok(ChangeModel {
                start_day: day(m, "start_day")?,
                end_day: day(m, "end_day")?,
                break_day: day(m, "break_day")?,
                observation_count: day(m, "observation_count")? as usize,
                change_probability: number(m, "change_probability")?,
                curve_qa: day(m, "curve_qa")?,
                bands: bands.try_into().expect("seven bands"),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let processing_mask = value["processing_mask"]
        .as_array()
        .ok_or("'processing_mask' is missing")?
        .iter()
        .map(|m| match m {
            Value::Bool(b) => Ok(*b),
            v => integer(v)
                .map(|i| i != 0)
                .ok_or_else(|| format!("'processing_mask' holds {v}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(CcdResult {
        change_models: models,
        processing_mask,
        cloud_prob: number(value, "cloud_prob")?,
        snow_prob: number(value, "snow_prob")?,
        water_prob: number(value, "water_prob")?,
        continuation: continuation_from_json(value)?,
    })
}
