//! pyccd 2021.7.19's processing parameters (`ccd/parameters.py`), with its names and defaults.
//! Any of them can be overridden from JSON, as `ccd.detect(..., params={...})` does.

use super::CcdcError;
use crate::kernels::qa::QaScheme;
use serde::{Deserialize, Serialize};

/// The curve QA codes of pyccd.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default, deny_unknown_fields)]
pub struct CurveQa {
    pub persist_snow: i64,
    pub insuf_clear: i64,
    pub start: i64,
    pub end: i64,
}

impl Default for CurveQa {
    fn default() -> Self {
        Self {
            persist_snow: 54,
            insuf_clear: 44,
            start: 14,
            end: 24,
        }
    }
}

/// Every parameter of pyccd's `parameters.py`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default, deny_unknown_fields)]
pub struct Params {
    pub meow_size: usize,
    pub peek_size: usize,
    pub day_delta: i64,
    pub avg_days_yr: f64,
    pub coefficient_min: usize,
    pub coefficient_mid: usize,
    pub coefficient_max: usize,
    pub num_obs_factor: f64,
    pub blue_idx: usize,
    pub green_idx: usize,
    pub red_idx: usize,
    pub nir_idx: usize,
    pub swir1_idx: usize,
    pub swir2_idx: usize,
    pub thermal_idx: usize,
    pub qa_idx: usize,
    pub detection_bands: Vec<usize>,
    pub tmask_bands: Vec<usize>,
    pub qa_bitpacked: bool,
    pub qa_fill: i64,
    pub qa_clear: i64,
    pub qa_water: i64,
    pub qa_shadow: i64,
    pub qa_snow: i64,
    pub qa_cloud: i64,
    pub qa_cirrus1: i64,
    pub qa_cirrus2: i64,
    pub qa_occlusion: i64,
    pub curve_qa: CurveQa,
    pub clear_observation_threshold: f64,
    pub clear_pct_threshold: f64,
    pub snow_pct_threshold: f64,
    pub outlier_threshold: f64,
    pub change_threshold: f64,
    pub t_const: f64,
    pub median_green_filter: f64,
    pub fitter_fn: String,
    pub lasso_max_iter: usize,
    pub stat_ord: i64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            meow_size: 12,
            peek_size: 6,
            day_delta: 365,
            avg_days_yr: 365.2425,
            coefficient_min: 4,
            coefficient_mid: 6,
            coefficient_max: 8,
            num_obs_factor: 3.0,
            blue_idx: 0,
            green_idx: 1,
            red_idx: 2,
            nir_idx: 3,
            swir1_idx: 4,
            swir2_idx: 5,
            thermal_idx: 6,
            qa_idx: 7,
            detection_bands: vec![1, 2, 3, 4, 5],
            tmask_bands: vec![1, 4],
            qa_bitpacked: true,
            qa_fill: 0,
            qa_clear: 1,
            qa_water: 2,
            qa_shadow: 3,
            qa_snow: 4,
            qa_cloud: 5,
            qa_cirrus1: 8,
            qa_cirrus2: 9,
            qa_occlusion: 10,
            curve_qa: CurveQa::default(),
            clear_observation_threshold: 3.0,
            clear_pct_threshold: 0.25,
            snow_pct_threshold: 0.75,
            // pyccd's literals, digit for digit.
            #[allow(clippy::excessive_precision)]
            outlier_threshold: 35.888186879610423,
            change_threshold: 15.086272469388987,
            t_const: 4.89,
            median_green_filter: 400.0,
            fitter_fn: LASSO_FITTER.to_string(),
            lasso_max_iter: 1000,
            stat_ord: 736694,
        }
    }
}

/// The only fitter pyccd ships, and the one ardent implements.
pub const LASSO_FITTER: &str = "ccd.models.lasso.fitted_model";

impl Params {
    /// pyccd's defaults with the keys of a JSON object overriding them, e.g.
    /// `{"QA_BITPACKED": false, "QA_FILL": 255, "QA_CLEAR": 0}`.
    ///
    /// ```
    /// use ardent_udfs::kernels::ccdc::Params;
    /// let p = Params::from_json(r#"{"MEOW_SIZE": 16}"#).unwrap();
    /// assert_eq!((p.meow_size, p.peek_size), (16, 6));
    /// assert!(Params::from_json(r#"{"MEOW": 16}"#).unwrap_err().to_string().contains("MEOW"));
    /// ```
    pub fn from_json(json: &str) -> Result<Params, CcdcError> {
        let params: Params =
            serde_json::from_str(json).map_err(|e| CcdcError::Params(e.to_string()))?;
        params.check()?;
        Ok(params)
    }

    /// The CFMask coding of pyccd's test data: one code per observation, not bits.
    pub fn cfmask() -> Params {
        Params {
            qa_bitpacked: false,
            qa_fill: 255,
            qa_clear: 0,
            qa_water: 1,
            qa_shadow: 2,
            qa_snow: 3,
            qa_cloud: 4,
            ..Params::default()
        }
    }

    /// Rejects values pyccd would crash on or that make no sense.
    pub fn check(&self) -> Result<(), CcdcError> {
        let bad = |what: &str| Err(CcdcError::Params(what.to_string()));
        if self.fitter_fn != LASSO_FITTER {
            return bad(&format!(
                "FITTER_FN '{}' is not available (only '{LASSO_FITTER}')",
                self.fitter_fn
            ));
        }
        let bands = [
            self.blue_idx,
            self.green_idx,
            self.red_idx,
            self.nir_idx,
            self.swir1_idx,
            self.swir2_idx,
            self.thermal_idx,
        ];
        let all = bands
            .iter()
            .chain(&self.detection_bands)
            .chain(&self.tmask_bands);
        if all.into_iter().any(|&b| b > 6) {
            return bad("band indices must be 0 to 6");
        }
        if self.detection_bands.is_empty() {
            return bad("DETECTION_BANDS is empty");
        }
        if self.meow_size < 2 || self.peek_size < 2 {
            return bad("MEOW_SIZE and PEEK_SIZE must be at least 2");
        }
        if !(1..=8).contains(&self.coefficient_min)
            || !(1..=8).contains(&self.coefficient_mid)
            || !(1..=8).contains(&self.coefficient_max)
        {
            return bad("COEFFICIENT_MIN/MID/MAX must be 1 to 8");
        }
        if self.num_obs_factor <= 0.0 || self.avg_days_yr <= 0.0 {
            return bad("NUM_OBS_FACTOR and AVG_DAYS_YR must be positive");
        }
        Ok(())
    }
}

/// The QA scheme and parameters of a run: `qa` (a [`QaScheme`] name, else the `"QA"` key of
/// `overrides`, else `c1`) picks pyccd's parameters for that scheme (CFmask codes for `cfmask`),
/// then the other keys of the `overrides` JSON object replace parameters by pyccd's names.
///
/// ```
/// use ardent_udfs::kernels::ccdc::settings;
/// use ardent_udfs::kernels::qa::QaScheme;
/// let (scheme, p) = settings(None, Some(r#"{"QA": "cfmask", "PEEK_SIZE": 8}"#)).unwrap();
/// assert_eq!((scheme, p.qa_fill, p.peek_size), (QaScheme::Cfmask, 255, 8));
/// ```
pub fn settings(
    qa: Option<QaScheme>,
    overrides: Option<&str>,
) -> Result<(QaScheme, Params), CcdcError> {
    let bad = |what: String| CcdcError::Params(what);
    let mut overrides = match overrides {
        Some(json) => match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => return Err(bad("they must be a JSON object".into())),
            Err(e) => return Err(bad(format!("they are not JSON: {e}"))),
        },
        None => serde_json::Map::new(),
    };
    let scheme = match overrides.remove("QA") {
        Some(serde_json::Value::String(s)) => s.parse().map_err(|e| bad(format!("QA: {e}")))?,
        Some(other) => return Err(bad(format!("QA must be a string, not {other}"))),
        None => qa.unwrap_or(QaScheme::C1),
    };
    let base = match scheme {
        QaScheme::Cfmask => Params::cfmask(),
        _ => Params::default(),
    };
    let mut merged = serde_json::to_value(base).map_err(|e| bad(e.to_string()))?;
    if let Some(map) = merged.as_object_mut() {
        map.extend(overrides);
    }
    Ok((scheme, Params::from_json(&merged.to_string())?))
}
