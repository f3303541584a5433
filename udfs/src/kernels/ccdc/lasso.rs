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
    /// The model with `coefficients` and `intercept` over `rows` and their `observed` values:
    /// its residuals, and its RMSE with `num_coefficients` degrees of freedom taken off. Serves
    /// a fresh fit and a stored model alike, so both give the same residuals to the bit.
    pub fn over(
        coefficients: [f64; COLUMNS],
        intercept: f64,
        rows: &[Row],
        observed: &[f64],
        num_coefficients: usize,
    ) -> Fit {
        let mut fit = Fit {
            coefficients,
            intercept,
            residual: Vec::new(),
            rmse: 0.0,
        };
        fit.residual = rows
            .iter()
            .zip(observed)
            .map(|(r, &y)| y - fit.predict(r))
            .collect();
        let degrees = rows.len() as f64 - num_coefficients as f64;
        fit.rmse = (sum_of_squares(&fit.residual) / degrees).sqrt();
        fit
    }

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
/// observation, with one `sin_cos` and the double- and triple-angle identities for the other
/// harmonics (numpy's own cos and sin of 2wt and 3wt agree to about 1e-15): the trigonometry
/// would otherwise dominate the time of short pixels.
pub fn matrix_row(date: f64, avg_days_yr: f64) -> Row {
    let w = 2.0 * std::f64::consts::PI / avg_days_yr;
    let (s1, c1) = (w * date).sin_cos();
    let (s2, c2) = (2.0 * s1 * c1, (c1 - s1) * (c1 + s1));
    [date, c1, s1, c2, s2, c1 * c2 - s1 * s2, s1 * c2 + c1 * s2]
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

/// The centered coefficient matrix of one window and what scikit-learn derives from it alone;
/// built once and shared by the fits of every band over that window.
pub struct Design<'a> {
    rows: &'a [Row],
    num_coefficients: usize,
    /// The model's centered columns, column-major as pyccd builds them (order='F').
    x: Vec<Vec<f64>>,
    x_offset: [f64; COLUMNS],
    norm_cols: [f64; COLUMNS],
    /// `X'X`, fixed-size so the coordinate descent's inner loops unroll.
    gram: [[f64; COLUMNS]; COLUMNS],
}

impl<'a> Design<'a> {
    /// `_preprocess_data`'s centering of X, the column norms and `X'X` for `rows`.
    pub fn new(rows: &'a [Row], num_coefficients: usize) -> Self {
        // The unused harmonics are zero columns: their offsets, norms and Gram entries are
        // exactly zero, so only the model's columns are built.
        let active = active_columns(num_coefficients);
        let mut x: Vec<Vec<f64>> = (0..active)
            .map(|j| rows.iter().map(|r| r[j]).collect())
            .collect();
        let mut x_offset = [0.0; COLUMNS];
        let mut norm_cols = [0.0; COLUMNS];
        for (j, column) in x.iter_mut().enumerate() {
            x_offset[j] = mean(column);
            for v in column.iter_mut() {
                *v -= x_offset[j];
            }
            norm_cols[j] = sum_of_squares(column);
        }
        let mut gram = [[0.0; COLUMNS]; COLUMNS];
        for a in 0..active {
            for b in 0..=a {
                gram[a][b] = dot(&x[a], &x[b]);
                gram[b][a] = gram[a][b];
            }
        }
        Self {
            rows,
            num_coefficients,
            x,
            x_offset,
            norm_cols,
            gram,
        }
    }

    /// pyccd's `fitted_model` for each of `bands` over this window: its Lasso fit, residuals and
    /// RMSE with `num_coefficients` degrees of freedom taken off.
    pub fn fit(&self, bands: &[&[f64]], max_iter: usize) -> Vec<Fit> {
        let active = active_columns(self.num_coefficients);
        // _preprocess_data: center y (X is centered already); then X'y and y'y per band.
        let mut centered = Vec::with_capacity(self.rows.len());
        let mut descents: Vec<Descent> = bands
            .iter()
            .map(|y| {
                let y_offset = mean(y);
                centered.clear();
                centered.extend(y.iter().map(|v| v - y_offset));
                let xty = std::array::from_fn(|j| {
                    self.x.get(j).map_or(0.0, |column| dot(column, &centered))
                });
                Descent::new(xty, dot(&centered, &centered), y_offset)
            })
            .collect();
        // enet_path: the penalty scales with the sample count.
        let alpha = self.rows.len() as f64;
        let problem = Problem {
            norm_cols: &self.norm_cols,
            gram: &self.gram,
            alpha,
            max_iter,
            tol: 1e-4,
        };
        match active {
            3 => problem.descend::<3>(&mut descents),
            5 => problem.descend::<5>(&mut descents),
            _ => problem.descend::<7>(&mut descents),
        }
        descents
            .iter()
            .zip(bands)
            .map(|(d, observed)| {
                let intercept = d.y_offset - dot(&self.x_offset, &d.w);
                Fit::over(d.w, intercept, self.rows, observed, self.num_coefficients)
            })
            .collect()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |acc, (x, y)| acc + x * y)
}

/// What the Lasso fits of one window share: `X'X`, the column norms and the stopping rules.
struct Problem<'a> {
    norm_cols: &'a [f64; COLUMNS],
    gram: &'a [[f64; COLUMNS]; COLUMNS],
    alpha: f64,
    max_iter: usize,
    tol: f64,
}

/// One band's coordinate descent: its coefficients `w`, `X'X w` kept up to date with them,
/// `X'y` and `y'y` of the centered band.
struct Descent {
    w: [f64; COLUMNS],
    h: [f64; COLUMNS],
    xty: [f64; COLUMNS],
    y_norm2: f64,
    y_offset: f64,
    w_max: f64,
    d_w_max: f64,
}

impl Descent {
    fn new(xty: [f64; COLUMNS], y_norm2: f64, y_offset: f64) -> Self {
        Self {
            w: [0.0; COLUMNS],
            h: [0.0; COLUMNS],
            xty,
            y_norm2,
            y_offset,
            w_max: 0.0,
            d_w_max: 0.0,
        }
    }
}

impl Problem<'_> {
    /// `sklearn.linear_model._cd_fast.enet_coordinate_descent` with l2 = 0, cyclic, not
    /// positive, for every band of the window: the same coordinate updates, stopping tests and
    /// duality gap per band, computed from the Gram matrix `X'X` and `X'y` instead of the
    /// residual vector, over the model's first `C` columns (the unused harmonics are zero
    /// columns, which coordinate descent never moves).
    ///
    /// Why this shape: pyccd's fits often run all `max_iter` iterations, and one band's descent
    /// is a chain of dependent operations, so its speed is the latency of that chain. The Gram
    /// matrix makes an iteration O(C²) instead of O(Cn); stepping the bands still running side
    /// by side, one coordinate at a time, lets the processor overlap their chains; `C` fixed at
    /// compile time unrolls the updates of `X'X w`. A band that has stopped is left as it is,
    /// so each band gets exactly what it would alone. Exact arithmetic makes the Gram form
    /// equal to scikit-learn's; in floating point they agree to rounding.
    fn descend<const C: usize>(&self, descents: &mut [Descent]) {
        let d_w_tol = self.tol;
        let gram: [[f64; C]; C] = std::array::from_fn(|a| std::array::from_fn(|b| self.gram[a][b]));
        let mut live: Vec<usize> = (0..descents.len()).collect();
        // A multiplication in the chain instead of a division: a third shorter, same to rounding.
        let inv_norm: [f64; C] = std::array::from_fn(|j| 1.0 / self.norm_cols[j]);
        for n_iter in 0..self.max_iter {
            if live.is_empty() {
                break;
            }
            for &l in &live {
                descents[l].w_max = 0.0;
                descents[l].d_w_max = 0.0;
            }
            for ii in 0..C {
                if self.norm_cols[ii] == 0.0 {
                    continue;
                }
                for &l in &live {
                    let d = &mut descents[l];
                    let w_ii = d.w[ii];
                    // X_ii . R, the residual without feature ii.
                    let tmp = d.xty[ii] - (d.h[ii] - w_ii * gram[ii][ii]);
                    // Soft thresholding; sign(tmp) * max(|tmp| - alpha, 0) is a copysign.
                    let updated = (tmp.abs() - self.alpha).max(0.0).copysign(tmp) * inv_norm[ii];
                    d.w[ii] = updated;
                    // One update of X'Xw for the change of w_ii (scikit-learn adds the old term
                    // back to the residual and takes the new one off: equal to rounding, half
                    // the work).
                    let change = updated - w_ii;
                    if change != 0.0 {
                        for (h, g) in d.h.iter_mut().zip(&gram[ii]) {
                            *h += change * g;
                        }
                    }
                    d.d_w_max = d.d_w_max.max(change.abs());
                    d.w_max = d.w_max.max(updated.abs());
                }
            }
            let last = n_iter == self.max_iter - 1;
            live.retain(|&l| {
                let d = &descents[l];
                let test = d.w_max == 0.0 || d.d_w_max / d.w_max < d_w_tol || last;
                !(test && self.duality_gap(d) < self.tol * d.y_norm2)
            });
        }
    }

    /// The duality gap of a band's coefficients: `X'R = X'y - X'Xw`,
    /// `R'R = y'y - 2 w'X'y + w'X'Xw`.
    fn duality_gap(&self, d: &Descent) -> f64 {
        let dual_norm = d
            .xty
            .iter()
            .zip(&d.h)
            .fold(0.0_f64, |m, (q, hk)| m.max((q - hk).abs()));
        let w_q = dot(&d.w, &d.xty);
        let r_norm2 = d.y_norm2 - 2.0 * w_q + dot(&d.w, &d.h);
        let (constant, gap) = if dual_norm > self.alpha {
            let c = self.alpha / dual_norm;
            (c, 0.5 * (r_norm2 + r_norm2 * c * c))
        } else {
            (1.0, r_norm2)
        };
        let l1_norm: f64 = d.w.iter().map(|v| v.abs()).sum();
        gap + (self.alpha * l1_norm - constant * (d.y_norm2 - w_q))
    }
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
        let f = Design::new(&rows, 4).fit(&[&y], 1000).remove(0);
        assert!(f.rmse < 5.0, "{f:?}");
        assert!((f.coefficients[1] - 300.0).abs() < 5.0, "{f:?}");
        assert_eq!(f.residual.len(), 60);
    }
}
