//! Tmask: pyccd's screen for cloud and snow missed by QA, a robust (bisquare IRLS) fit of a
//! harmonic with the window's own period, flagging observations far from it
//! (`ccd/models/tmask.py` and `robust_fit.py`).

use nalgebra::{DMatrix, DVector};

use super::numeric::{mean, median};

const TUNE: f64 = 4.685;
const SCALE_CONSTANT: f64 = 0.6745;
const MAX_ITER: usize = 5;

/// pyccd's `tmask_coefficient_matrix`.
fn design(dates: &[f64], avg_days_yr: f64) -> DMatrix<f64> {
    let annual = 2.0 * std::f64::consts::PI / avg_days_yr;
    let span = dates[dates.len() - 1] - dates[0];
    let observation = annual / (span / avg_days_yr).ceil();
    DMatrix::from_fn(dates.len(), 5, |i, j| match j {
        0 => (annual * dates[i]).cos(),
        1 => (annual * dates[i]).sin(),
        2 => (observation * dates[i]).cos(),
        3 => (observation * dates[i]).sin(),
        _ => 1.0,
    })
}

/// `numpy.linalg.lstsq(x, y, rcond=None)`: the minimum-norm least-squares solution by SVD.
fn lstsq(x: &DMatrix<f64>, y: &DVector<f64>) -> DVector<f64> {
    let svd = x.clone().svd(true, true);
    let largest = svd.singular_values.max();
    let cutoff = f64::EPSILON * x.nrows().max(x.ncols()) as f64 * largest;
    svd.solve(y, cutoff)
        .unwrap_or_else(|_| DVector::zeros(x.ncols()))
}

/// `_weight_fit`: weighted least squares, and residuals of the unweighted data. Solved from the
/// 5 x 5 normal equations (the harmonic design is well conditioned), by SVD as numpy does when
/// they are singular: a window of at most a year makes its two cycles the same columns.
fn weighted_fit(x: &DMatrix<f64>, y: &DVector<f64>, w: &[f64]) -> (DVector<f64>, DVector<f64>) {
    let weights = DVector::from_column_slice(w);
    let xtw = DMatrix::from_fn(x.ncols(), x.nrows(), |j, i| x[(i, j)] * weights[i]);
    let beta = match (&xtw * x).cholesky() {
        Some(c) if c.l().diagonal().min() > 1e-6 * c.l().diagonal().max() => c.solve(&(&xtw * y)),
        _ => {
            let sw = weights.map(f64::sqrt);
            let xw = DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] * sw[i]);
            lstsq(&xw, &y.component_mul(&sw))
        }
    };
    let resid = y - x * &beta;
    (beta, resid)
}

/// pyccd's leverage adjustment `1 / sqrt(1 - h)`, h the diagonal of the hat matrix (from the QR
/// factorization in pyccd) capped at 0.9999.
fn leverage_adjustment(x: &DMatrix<f64>) -> Vec<f64> {
    let cap = |h: f64| 1.0 / (1.0 - h.min(0.9999)).sqrt();
    match (x.transpose() * x).try_inverse() {
        Some(inv) => (0..x.nrows())
            .map(|i| {
                let row = x.row(i);
                cap((row * &inv).dot(&row))
            })
            .collect(),
        None => vec![cap(1.0); x.nrows()],
    }
}

/// pyccd's `mad`: the median of the absolute values without the four smallest, over 0.6745.
/// Selecting the four smallest leaves the same values as pyccd's full sort (the median does not
/// depend on their order), without sorting at every robust-fit iteration.
fn mad(x: &[f64]) -> f64 {
    let mut abs: Vec<f64> = x.iter().map(|v| v.abs()).collect();
    if abs.len() > 4 {
        abs.select_nth_unstable_by(4, f64::total_cmp);
    }
    median(abs.get(4..).unwrap_or(&[])) / SCALE_CONSTANT
}

fn bisquare(r: f64) -> f64 {
    if r.abs() < TUNE {
        (1.0 - (r / TUNE).powi(2)).powi(2)
    } else {
        0.0
    }
}

/// pyccd's `RLM(maxiter=5).fit(x, y)` coefficients; `adjfactor` from [`leverage_adjustment`].
fn robust_fit(x: &DMatrix<f64>, y: &DVector<f64>, adjfactor: &[f64]) -> DVector<f64> {
    let n = y.len();
    let (mut coef, resid) = weighted_fit(x, y, &vec![1.0; n]);
    let mut scale = mad(resid.as_slice());
    if scale < f64::EPSILON {
        return coef;
    }
    let y_mean = mean(y.as_slice());
    let y_std = (mean(&y.iter().map(|v| (v - y_mean).powi(2)).collect::<Vec<_>>())).sqrt();
    let mut iteration = 1;
    let mut converged = false;
    while !converged && iteration < MAX_ITER {
        let previous = coef.clone();
        let resid: Vec<f64> = (y - x * &previous)
            .iter()
            .zip(adjfactor)
            .map(|(r, a)| r * a)
            .collect();
        scale = (f64::EPSILON * y_std).max(mad(&resid));
        let weights: Vec<f64> = resid.iter().map(|r| bisquare(r / scale)).collect();
        coef = weighted_fit(x, y, &weights).0;
        iteration += 1;
        // pyccd's `_check_converge` tests `fabs(x0 - x > tol)`: only increases count.
        converged = !previous.iter().zip(coef.iter()).any(|(p, c)| c - p > 1e-8);
    }
    coef
}

/// pyccd's `tmask`: which observations of the window are outliers in any of `bands`.
pub fn tmask(
    dates: &[f64],
    spectra: &[&[f64]; 7],
    variogram: &[f64; 7],
    bands: &[usize],
    t_const: f64,
    avg_days_yr: f64,
) -> Vec<bool> {
    let x = design(dates, avg_days_yr);
    let adjfactor = leverage_adjustment(&x);
    let mut outliers = vec![false; dates.len()];
    for &band in bands {
        let y = DVector::from_column_slice(spectra[band]);
        let coef = robust_fit(&x, &y, &adjfactor);
        let predicted = &x * coef;
        for (i, flag) in outliers.iter_mut().enumerate() {
            *flag |= (predicted[i] - y[i]).abs() > variogram[band] * t_const;
        }
    }
    outliers
}
