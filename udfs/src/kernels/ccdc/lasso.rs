//! pyccd's harmonic model, fitted as pyccd fits it: scikit-learn 1.2.2's `Lasso(max_iter=...)`
//! (alpha 1, tol 1e-4, intercept by centering, cyclic coordinate descent, duality-gap stop).
//! pyccd often stops there unconverged, so the port follows every step, not just the optimum.

use super::numeric::{mean, sum_of_squares};

/// Columns of pyccd's coefficient matrix: time, then cos/sin of 1, 2 and 3 cycles a year.
pub const COLUMNS: usize = 7;

/// A fitted model of one band over one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub coefficients: [f64; COLUMNS],
    pub intercept: f64,
    /// Observed minus predicted, over the fitted window.
    pub residual: Vec<f64>,
    pub rmse: f64,
}

/// A row of pyccd's coefficient matrix with every harmonic: a model with fewer coefficients
/// ignores the columns it does not use.
pub type Row = [f64; COLUMNS];

impl Fit {
    /// The model's value on the date of `row` (unused harmonics have zero coefficients, so the
    /// full row serves every model, as in pyccd's `predict`).
    pub fn predict(&self, row: &Row) -> f64 {
        let mut value = 0.0;
        for (x, c) in row.iter().zip(&self.coefficients) {
            value += x * c;
        }
        value + self.intercept
    }
}

/// pyccd's `coefficient_matrix` row of `date`, all three harmonics. Computed once per
/// observation: the trigonometry would otherwise dominate CCDC's time.
pub fn matrix_row(date: f64, avg_days_yr: f64) -> Row {
    let w = 2.0 * std::f64::consts::PI / avg_days_yr;
    let w12 = w * date;
    let (w34, w56) = (2.0 * w12, 3.0 * w12);
    [
        date,
        w12.cos(),
        w12.sin(),
        w34.cos(),
        w34.sin(),
        w56.cos(),
        w56.sin(),
    ]
}

/// How many leading columns of the coefficient matrix a model of `num_coefficients` uses (the
/// intercept is not a column): time and one harmonic, then two, then three.
fn active_columns(num_coefficients: usize) -> usize {
    match num_coefficients {
        n if n >= 8 => 7,
        n if n >= 6 => 5,
        _ => 3,
    }
}

/// Whether column `j` of the coefficient matrix is used by a model of `num_coefficients`.
fn uses_column(j: usize, num_coefficients: usize) -> bool {
    j < active_columns(num_coefficients)
}

/// The centered coefficient matrix of one window and what scikit-learn derives from it alone;
/// built once and shared by the fits of every band over that window.
pub struct Design<'a> {
    rows: &'a [Row],
    num_coefficients: usize,
    /// Centered columns, column-major as pyccd builds them (order='F'); unused harmonics are zero.
    x: Vec<Vec<f64>>,
    x_offset: [f64; COLUMNS],
    norm_cols: [f64; COLUMNS],
    /// `X'X`, fixed-size so the coordinate descent's inner loops unroll.
    gram: [[f64; COLUMNS]; COLUMNS],
}

impl<'a> Design<'a> {
    /// `_preprocess_data`'s centering of X, the column norms and `X'X` for `rows`.
    pub fn new(rows: &'a [Row], num_coefficients: usize) -> Self {
        let n = rows.len();
        let mut x: Vec<Vec<f64>> = (0..COLUMNS)
            .map(|j| {
                if uses_column(j, num_coefficients) {
                    rows.iter().map(|r| r[j]).collect()
                } else {
                    vec![0.0; n]
                }
            })
            .collect();
        let x_offset: [f64; COLUMNS] = std::array::from_fn(|j| mean(&x[j]));
        for (column, offset) in x.iter_mut().zip(&x_offset) {
            for v in column.iter_mut() {
                *v -= offset;
            }
        }
        let norm_cols = std::array::from_fn(|j| sum_of_squares(x[j].iter().copied()));
        // Unused harmonics are zero columns: their entries are exactly zero without the dots.
        let active = active_columns(num_coefficients);
        let gram = std::array::from_fn(|a| {
            std::array::from_fn(|b| {
                if a < active && b < active {
                    dot(&x[a], &x[b])
                } else {
                    0.0
                }
            })
        });
        Self {
            rows,
            num_coefficients,
            x,
            x_offset,
            norm_cols,
            gram,
        }
    }

    /// pyccd's `fitted_model`: the Lasso fit of `observed`, its residuals and its RMSE with
    /// `num_coefficients` degrees of freedom taken off.
    pub fn fit(&self, observed: &[f64], max_iter: usize) -> Fit {
        let (coefficients, intercept) = self.lasso(observed, 1.0, max_iter, 1e-4);
        let fit = Fit {
            coefficients,
            intercept,
            residual: Vec::new(),
            rmse: 0.0,
        };
        let residual: Vec<f64> = self
            .rows
            .iter()
            .zip(observed)
            .map(|(r, &y)| y - fit.predict(r))
            .collect();
        let degrees = self.rows.len() as f64 - self.num_coefficients as f64;
        let rmse = (sum_of_squares(residual.iter().copied()) / degrees).sqrt();
        Fit {
            residual,
            rmse,
            ..fit
        }
    }

    /// scikit-learn 1.2.2 `Lasso(alpha, max_iter, tol).fit(X, y)`: `(coef_, intercept_)`.
    fn lasso(&self, y: &[f64], alpha: f64, max_iter: usize, tol: f64) -> ([f64; COLUMNS], f64) {
        // _preprocess_data: center y (X is centered already).
        let y_offset = mean(y);
        let y: Vec<f64> = y.iter().map(|v| v - y_offset).collect();
        let active = active_columns(self.num_coefficients);
        let xty: [f64; COLUMNS] =
            std::array::from_fn(|j| if j < active { dot(&self.x[j], &y) } else { 0.0 });
        // enet_path: the penalty scales with the sample count.
        let l1 = alpha * y.len() as f64;
        let w = coordinate_descent(
            &self.norm_cols,
            &self.gram,
            &xty,
            dot(&y, &y),
            l1,
            max_iter,
            tol,
            active,
        );
        let intercept = y_offset - dot(&self.x_offset, &w);
        (w, intercept)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |acc, (x, y)| acc + x * y)
}

/// `sklearn.linear_model._cd_fast.enet_coordinate_descent` with l2 = 0, cyclic, not positive:
/// the same coordinate updates, stopping tests and duality gap, computed from the Gram matrix
/// `X'X` and `X'y` instead of the residual vector, over the first `active` columns (the unused
/// harmonics are zero columns, which coordinate descent never moves). The two are equal in exact
/// arithmetic and agree to rounding; with at most 7 features and hundreds of observations this
/// makes an iteration O(49) instead of O(7n), which matters because pyccd's fits often run all
/// `max_iter` iterations.
fn coordinate_descent(
    norm_cols: &[f64; COLUMNS],
    gram: &[[f64; COLUMNS]; COLUMNS],
    xty: &[f64; COLUMNS],
    y_norm2: f64,
    alpha: f64,
    max_iter: usize,
    tol: f64,
    active: usize,
) -> [f64; COLUMNS] {
    let mut w = [0.0; COLUMNS];
    // X'X w, kept up to date with w.
    let mut h = [0.0; COLUMNS];
    let d_w_tol = tol;
    let tol = tol * y_norm2;
    for n_iter in 0..max_iter {
        let mut w_max: f64 = 0.0;
        let mut d_w_max: f64 = 0.0;
        for ii in 0..active {
            if norm_cols[ii] == 0.0 {
                continue;
            }
            let w_ii = w[ii];
            // X_ii . R, the residual without feature ii.
            let tmp = xty[ii] - (h[ii] - w_ii * gram[ii][ii]);
            w[ii] = tmp.signum() * (tmp.abs() - alpha).max(0.0) / norm_cols[ii];
            // One update of X'Xw for the change of w_ii (scikit-learn adds the old term back to
            // the residual and takes the new one off: equal to rounding, half the work).
            let change = w[ii] - w_ii;
            if change != 0.0 {
                for (hk, g) in h[..active].iter_mut().zip(&gram[ii][..active]) {
                    *hk += change * g;
                }
            }
            d_w_max = d_w_max.max((w[ii] - w_ii).abs());
            w_max = w_max.max(w[ii].abs());
        }
        if w_max == 0.0 || d_w_max / w_max < d_w_tol || n_iter == max_iter - 1 {
            // The duality gap decides: X'R = X'y - X'Xw, R.R = y.y - 2 w.X'y + w.X'Xw.
            let dual_norm = xty
                .iter()
                .zip(&h)
                .fold(0.0_f64, |m, (q, hk)| m.max((q - hk).abs()));
            let w_q = dot(&w, xty);
            let r_norm2 = y_norm2 - 2.0 * w_q + dot(&w, &h);
            let (constant, mut gap) = if dual_norm > alpha {
                let c = alpha / dual_norm;
                (c, 0.5 * (r_norm2 + r_norm2 * c * c))
            } else {
                (1.0, r_norm2)
            };
            let l1_norm: f64 = w.iter().map(|v| v.abs()).sum();
            gap += alpha * l1_norm - constant * (y_norm2 - w_q);
            if gap < tol {
                break;
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_clean_harmonic() {
        let dates: Vec<f64> = (0..60).map(|i| 730_000.0 + 16.0 * f64::from(i)).collect();
        let y: Vec<f64> = dates
            .iter()
            .map(|&d| 1000.0 + 300.0 * (2.0 * std::f64::consts::PI / 365.2425 * d).cos())
            .collect();
        let rows: Vec<Row> = dates.iter().map(|&d| matrix_row(d, 365.2425)).collect();
        let f = Design::new(&rows, 4).fit(&y, 1000);
        assert!(f.rmse < 5.0, "{f:?}");
        assert!((f.coefficients[1] - 300.0).abs() < 5.0, "{f:?}");
        assert_eq!(f.residual.len(), 60);
    }
}
