//! The variogram of pyccd's `math_utils.py`, with scipy's `mode` that it uses.

use super::numeric::median;

/// pyccd's `adjusted_variogram`: median absolute differences between observations at the
/// smallest lag whose most common spacing exceeds 30 days (lag 1 if none does).
pub(super) fn adjusted_variogram(dates: &[i64], spectra: &[Vec<f64>; 7]) -> [f64; 7] {
    let median_abs_diff = |lag: usize, keep: &dyn Fn(usize) -> bool| -> [f64; 7] {
        std::array::from_fn(|b| {
            let diffs: Vec<f64> = (0..spectra[b].len().saturating_sub(lag))
                .filter(|&i| keep(i))
                .map(|i| (spectra[b][i + lag] - spectra[b][i]).abs())
                .collect();
            median(&diffs)
        })
    };
    let mut variogram = median_abs_diff(1, &|_| true);
    for lag in 1..=dates.len() {
        let spacing: Vec<i64> = (0..dates.len().saturating_sub(lag))
            .map(|i| dates[i + lag] - dates[i])
            .collect();
        if spacing.is_empty() {
            continue;
        }
        if mode(&spacing) > 30 {
            variogram = median_abs_diff(lag, &|i| spacing[i] > 30);
            break;
        }
    }
    variogram
}

/// `scipy.stats.mode`: the most common value, the smallest among equally common ones.
fn mode(values: &[i64]) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let (mut best, mut best_count) = (sorted[0], 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = i + sorted[i..].iter().take_while(|v| **v == sorted[i]).count();
        if j - i > best_count {
            best = sorted[i];
            best_count = j - i;
        }
        i = j;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_is_the_smallest_most_common() {
        assert_eq!(mode(&[3, 1, 3, 1, 2]), 1);
        assert_eq!(mode(&[16, 16, 32]), 16);
        assert_eq!(mode(&[5]), 5);
    }

    #[test]
    fn variogram_skips_to_a_lag_over_30_days() {
        let alternating: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { 0.0 } else { 10.0 })
            .collect();
        let spectra: [Vec<f64>; 7] =
            std::array::from_fn(|b| alternating.iter().map(|v| v * (b + 1) as f64).collect());
        // Every 16 days: lag 1 spaces 16 days, lag 2 spaces 32, where the values repeat.
        let dense: Vec<i64> = (0..20).map(|i| 730_000 + 16 * i).collect();
        assert_eq!(adjusted_variogram(&dense, &spectra), [0.0; 7]);
        // Every 40 days: lag 1 already spaces more than 30.
        let sparse: Vec<i64> = (0..20).map(|i| 730_000 + 40 * i).collect();
        let expected: [f64; 7] = std::array::from_fn(|b| 10.0 * (b + 1) as f64);
        assert_eq!(adjusted_variogram(&sparse, &spectra), expected);
    }
}
