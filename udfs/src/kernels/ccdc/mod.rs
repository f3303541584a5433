//! CCDC change detection, a port of lcmap-pyccd 2021.7.19 (`ccd.detect`) that gives its answers:
//! the same procedure choice, filters, variogram, Tmask, model windows, change and outlier tests,
//! and the same scikit-learn Lasso fits, step for step.
//!
//! ```
//! use ardent_udfs::kernels::ccdc::{detect, Params, Series};
//! use ardent_udfs::kernels::qa::QaScheme;
//! // Too few observations for a model: pyccd's answer is no change model at all.
//! let dates = [730_000, 730_016, 730_032];
//! let band = [500.0, 510.0, 505.0];
//! let series = Series { dates: &dates, bands: [&band; 7], qa: &[0, 0, 0] };
//! let result = detect(&series, QaScheme::Cfmask, &Params::cfmask()).unwrap();
//! assert!(result.change_models.is_empty());
//! ```
//!
//! One file per pyccd module: `procedures.rs` (`procedures.py`: the procedure choice, the
//! standard procedure's initialize, look-back, look-forward and catch), `change.rs` (`change.py`:
//! the change tests' helpers), `variogram.rs` (`math_utils.py`'s variogram), `qa.rs` (`qa.py`),
//! `lasso.rs` and `tmask.rs` (the fits), `params.rs` (`parameters.py`), `result.rs` (the
//! result types, `results_to_changemodel`), and `numeric.rs` (numpy's summation, median and sort
//! order, which the answers depend on).

mod change;
mod error;
mod lasso;
mod numeric;
mod params;
mod procedures;
mod qa;
mod result;
mod tmask;
mod variogram;

pub use error::CcdcError;
pub use params::{settings, CurveQa, Params};
pub use result::{BandModel, CcdResult, ChangeModel, Continuation, Step};

use crate::kernels::qa::QaScheme;

use numeric::argsort_distinct;
use procedures::Pixel;

/// Offset between proleptic Gregorian ordinal days (pyccd's dates) and days since 1970-01-01.
pub const ORDINAL_OF_UNIX_EPOCH: i64 = 719_163;

/// The bands in pyccd's order.
pub const BANDS: [&str; 7] = ["blue", "green", "red", "nir", "swir1", "swir2", "thermal"];

/// One pixel's time series, in any order: ordinal dates, the 7 bands (blue, green, red, nir,
/// swir1, swir2, thermal; reflectance x 10000, brightness temperature K x 10) and QA values.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    pub dates: &'a [i64],
    pub bands: [&'a [f64]; 7],
    pub qa: &'a [i64],
}

/// Runs CCDC on one pixel as `ccd.detect(dates, blues, ..., qas, params=params)` does.
pub fn detect(series: &Series, scheme: QaScheme, params: &Params) -> Result<CcdResult, CcdcError> {
    run(series, scheme, params, None)
}

/// Continues `previous`, CCDC's result over an earlier part of this pixel's series, over the
/// whole series, as `ccd.detect(..., prev_results=previous, params=params)` does: the segments
/// up to the last confirmed break are kept as they are (with the processing mask before it),
/// and detection restarts at that break. The old series must be an identical prefix of
/// `series`, and `params` the ones `previous` was made with; `STAT_ORD` at or before the old
/// series' end keeps the one-time statistics (variogram, peek size) what they were.
///
/// ```
/// use ardent_udfs::kernels::ccdc::{detect, update, Params, Series};
/// use ardent_udfs::kernels::qa::QaScheme;
/// let dates: Vec<i64> = (0..60).map(|k| 730_000 + 16 * k).collect();
/// let band: Vec<f64> = dates.iter().map(|d| 500.0 + (*d as f64 / 58.0).sin() * 50.0).collect();
/// let qa = vec![0; 60];
/// let series = |n: usize| Series { dates: &dates[..n], bands: [&band[..n]; 7], qa: &qa[..n] };
/// let params = Params::cfmask();
/// let old = detect(&series(40), QaScheme::Cfmask, &params).unwrap();
/// let updated = update(&old, &series(60), QaScheme::Cfmask, &params).unwrap();
/// assert_eq!(updated.processing_mask.len(), 60);
/// ```
pub fn update(
    previous: &CcdResult,
    series: &Series,
    scheme: QaScheme,
    params: &Params,
) -> Result<CcdResult, CcdcError> {
    run(series, scheme, params, Some(previous))
}

fn run(
    series: &Series,
    scheme: QaScheme,
    params: &Params,
    previous: Option<&CcdResult>,
) -> Result<CcdResult, CcdcError> {
    let n = series.dates.len();
    if n == 0 {
        return Err(CcdcError::NoObservations);
    }
    if series.qa.len() != n || series.bands.iter().any(|b| b.len() != n) {
        return Err(CcdcError::LengthMismatch {
            dates: n,
            qa: series.qa.len(),
            bands: series.bands.map(<[f64]>::len),
        });
    }
    params.check()?;
    let order = argsort_distinct(series.dates);
    // Most series come sorted: then a copy will do.
    let order = (!order.iter().enumerate().all(|(k, &i)| k == i)).then_some(order.as_slice());
    let dates = in_order(series.dates, order);
    let spectra: [Vec<f64>; 7] = series.bands.map(|band| in_order(band, order));
    let raw_qa = in_order(series.qa, order);
    let quality = qa::classes(&raw_qa, scheme, params)?;
    let (cloud_prob, snow_prob, water_prob) = qa::ClassCounts::of(&quality, params).probabilities();
    let pixel = Pixel {
        dates,
        spectra,
        quality,
    };
    let (change_models, processing_mask, continuation) = procedures::run(pixel, params, previous)?;
    Ok(CcdResult {
        change_models,
        processing_mask,
        cloud_prob,
        snow_prob,
        water_prob,
        continuation,
    })
}

/// `values` taken in `order` (`None`: as they are).
fn in_order<T: Copy>(values: &[T], order: Option<&[usize]>) -> Vec<T> {
    match order {
        Some(order) => order.iter().map(|&i| values[i]).collect(),
        None => values.to_vec(),
    }
}
