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

/// What `ccd.detect` returns, and where the detection stopped for want of observations.
#[derive(Clone, Debug, PartialEq)]
pub struct CcdResult {
    pub change_models: Vec<ChangeModel>,
    /// Per observation, in date order: whether the procedure used it.
    pub processing_mask: Vec<bool>,
    pub cloud_prob: f64,
    pub snow_prob: f64,
    pub water_prob: f64,
    /// ardent's, not pyccd's: where the standard procedure first needed an observation past the
    /// series' end, so that an update over the grown series continues from there (the same
    /// answers as restarting at the last break, without redoing the work since). `None` for
    /// the other procedures, results read from pyccd, and detections that changed the processing
    /// mask after that point.
    pub continuation: Option<Continuation>,
}

/// The steps of the standard procedure's loop, as pyccd's `standard_procedure` runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The test whether a model window still fits before the series' end.
    NextSegment,
    /// `initialize`, searching for a stable window.
    Initialize,
    /// The test whether a peek window fits after the model window, before `lookforward`.
    Extend,
    /// `lookforward`, extending the model window.
    LookForward,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Step::NextSegment,
        Step::Initialize,
        Step::Extend,
        Step::LookForward,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::NextSegment => "next_segment",
            Step::Initialize => "initialize",
            Step::Extend => "extend",
            Step::LookForward => "lookforward",
        }
    }

    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The state of the standard procedure at the first step that needed an observation past the
/// series' end. Positions count the observations the processing mask keeps, windows are
/// `start..stop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Continuation {
    pub step: Step,
    /// The model window.
    pub window: (usize, usize),
    /// The window `lookforward` last fitted its models over (that step only).
    pub fit_window: Option<(usize, usize)>,
    /// Where the previous segment ended.
    pub previous_end: usize,
    /// Whether a segment at the start of the series may still be caught.
    pub start: bool,
    /// How many of the segments were found before it.
    pub segments: usize,
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
