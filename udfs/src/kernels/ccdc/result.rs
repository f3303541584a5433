//! What CCDC returns, shaped like pyccd's result, and pyccd's `results_to_changemodel`.

use super::lasso::{self, Fit};

/// The model of one band over a segment.
#[derive(Clone, Debug, PartialEq)]
pub struct BandModel {
    pub magnitude: f64,
    pub rmse: f64,
    pub coefficients: [f64; 7],
    pub intercept: f64,
}

impl BandModel {
    /// The model's value on an ordinal day.
    pub fn predict(&self, ordinal_day: f64, avg_days_yr: f64) -> f64 {
        let row = lasso::matrix_row(ordinal_day, avg_days_yr);
        row.iter()
            .zip(&self.coefficients)
            .fold(self.intercept, |acc, (x, c)| acc + x * c)
    }
}

/// A segment: a stretch of time with one model per band, ended by a break or the series' end.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeModel {
    pub start_day: i64,
    pub end_day: i64,
    pub break_day: i64,
    pub observation_count: usize,
    pub change_probability: f64,
    pub curve_qa: i64,
    pub bands: [BandModel; 7],
}

/// What `ccd.detect` returns.
#[derive(Clone, Debug, PartialEq)]
pub struct CcdResult {
    pub change_models: Vec<ChangeModel>,
    /// Per observation, in date order: whether the procedure used it.
    pub processing_mask: Vec<bool>,
    pub cloud_prob: f64,
    pub snow_prob: f64,
    pub water_prob: f64,
}

/// pyccd's `results_to_changemodel`; `days` are start, end and break.
pub(super) fn change_model(
    fits: &[Fit],
    days: [i64; 3],
    magnitudes: &[f64; 7],
    observation_count: usize,
    change_probability: f64,
    curve_qa: i64,
) -> ChangeModel {
    ChangeModel {
        start_day: days[0],
        end_day: days[1],
        break_day: days[2],
        observation_count,
        change_probability,
        curve_qa,
        bands: std::array::from_fn(|b| BandModel {
            magnitude: magnitudes[b],
            rmse: fits[b].rmse,
            coefficients: fits[b].coefficients,
            intercept: fits[b].intercept,
        }),
    }
}
