//! The variogram of pyccd's `math_utils.py`, with scipy's `mode` that it uses.

use super::numeric::median_of;

/// pyccd's `adjusted_variogram`: median absolute differences between observations at the
/// smallest lag whose most common spacing exceeds 30 days (lag 1 if none does).
pub(super) fn adjusted_variogram(dates: &[i64], spectra: &[Vec<f64>; 7]) -> [f64; 7] {
    let median_abs_diff = |lag: usize, keep: &dyn Fn(usize) -> bool| -> [f64; 7] {
        std::array::from_fn(|b| {
            let diffs: Vec<f64> = (0..spectra[b].len().saturating_sub(lag))
                .filter(|&i| keep(i))
                .map(|i| (spectra[b][i + lag] - spectra[b][i]).abs())
                .collect();
            median_of(diffs)
        })
    };
    let mut spacing = Vec::with_capacity(dates.len());
    for lag in 1..dates.len() {
        spacing.clear();
        spacing.extend((0..dates.len() - lag).map(|i| dates[i + lag] - dates[i]));
        if mode(&spacing) > 30 {
            return median_abs_diff(lag, &|i| spacing[i] > 30);
        }
    }
    median_abs_diff(1, &|_| true)
}

/// `scipy.stats.mode`: the most common value, the smallest among equally common ones. Spacings
/// of a series span few values, which are counted; a wider spread is sorted.
fn mode(values: &[i64]) -> i64 {
    let (low, high) = values
        .iter()
        .fold((i64::MAX, i64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    if high.abs_diff(low) < 4096 {
        let mut counts = vec![0u32; (high - low) as usize + 1];
        for &v in values {
            counts[(v - low) as usize] += 1;
        }
        // The largest count, the smallest value among equals.
        let (best, _) = (0..)
            .zip(&counts)
            .max_by_key(|&(i, &c)| (c, std::cmp::Reverse(i)))
            .expect("one value at least");
        return low + best;
    }
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
        // Spread wider than the counts cover: sorted instead.
        assert_eq!(mode(&[9000, 3, 9000, 3, 40]), 3);
        assert_eq!(mode(&[-7000, 9000, 9000]), 9000);
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
