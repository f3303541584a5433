//! pyccd's `change.py`: the helpers of the change and outlier tests (coefficients for a window,
//! the observations closest in day of year, the peek window and threshold for dense series).

use super::numeric::{argsort_prefix, median, round};
use super::procedures::Window;
use super::Params;

pub(super) fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

pub(super) fn enough_time(dates: &[f64], day_delta: i64) -> bool {
    dates[dates.len() - 1] - dates[0] >= day_delta as f64
}

pub(super) fn span(period: &[f64], w: Window) -> f64 {
    period[w.stop - 1] - period[w.start]
}

/// pyccd's `determine_num_coefs`.
pub(super) fn determine_num_coefs(observations: usize, p: &Params) -> usize {
    let span = observations as f64 / p.num_obs_factor;
    if span < p.coefficient_mid as f64 {
        p.coefficient_min
    } else if span < p.coefficient_max as f64 {
        p.coefficient_mid
    } else {
        p.coefficient_max
    }
}

/// pyccd's `find_closest_doy` over one window, for the many targets a look-forward asks about
/// while its fit window stays: positions within the window of the `num` observations closest
/// in day of year to a target, as the first `num` of numpy's argsort.
///
/// pyccd's distance is the distance on a circle of one year between the dates' phases (see
/// [`quarter_days_off_year`]), so the window's observations are sorted by phase once, and each
/// target's nearest are then picked outward from its phase, both ways round. Which positions
/// those are depends on numpy's sort only when a tie straddles the cut; then (and for windows
/// no longer than `num`) the keys are argsorted as numpy would. Otherwise the selection is
/// returned ordered by distance and position (their order changes only the rounding of the sum
/// they feed).
pub(super) struct ClosestDoy {
    window: Window,
    /// Phase in quarter days (`4 d mod 1461`) and position within the window, as
    /// `phase << 32 | position`, sorted.
    by_phase: Vec<u64>,
}

/// Quarter days in a year of 365.25 days.
const YEAR_QUARTERS: u32 = 1461;

impl ClosestDoy {
    pub(super) fn new(period: &[f64], window: Window) -> Self {
        let mut by_phase: Vec<u64> = period[window.start..window.stop]
            .iter()
            .zip(0u64..)
            .map(|(&d, i)| (u64::from(phase(d)) << 32) | i)
            .collect();
        by_phase.sort_unstable();
        Self { window, by_phase }
    }

    pub(super) fn window(&self) -> Window {
        self.window
    }

    /// The positions within the window of the `num` observations closest in day of year to
    /// `period[index]`.
    pub(super) fn select(&self, period: &[f64], index: usize, num: usize) -> Vec<usize> {
        self.pick(phase(period[index]), num).unwrap_or_else(|| {
            let target = period[index];
            let keys: Vec<u32> = period[self.window.start..self.window.stop]
                .iter()
                .map(|d| quarter_days_off_year(d - target))
                .collect();
            let mut order = argsort_prefix(&keys, num);
            order.truncate(num);
            order
        })
    }

    /// The `num` nearest to phase `target` ordered by (distance, position), merging the walks
    /// right and left of it; `None` where a tie straddles the cut or the window is too short.
    /// The walks cover disjoint runs of the circle (`num + 1` steps in all, no more than the
    /// window holds), each in order of its own offset; an element's distance is the lesser
    /// of its two offsets, so while the offsets taken stay within half a year they are the
    /// distances, and every element not taken lies at least as far as the next one offered.
    fn pick(&self, target: u32, num: usize) -> Option<Vec<usize>> {
        let n = self.by_phase.len();
        if n <= num {
            return None;
        }
        let at = |k: usize| {
            let e = self.by_phase[k % n];
            ((e >> 32) as u32, e & 0xffff_ffff)
        };
        let first_right = self
            .by_phase
            .partition_point(|e| ((e >> 32) as u32) < target);
        // The next offered on the left is at `left - 1`: `num + 1` steps never take it below 0.
        let (mut right, mut left) = (first_right, first_right + n);
        let mut nearest: Vec<u64> = Vec::with_capacity(num);
        loop {
            let (phase_right, position_right) = at(right);
            let (phase_left, position_left) = at(left - 1);
            let offset_right = (phase_right + YEAR_QUARTERS - target) % YEAR_QUARTERS;
            let offset_left = (target + YEAR_QUARTERS - phase_left) % YEAR_QUARTERS;
            let (key, position) = if offset_right <= offset_left {
                right += 1;
                (offset_right, position_right)
            } else {
                left -= 1;
                (offset_left, position_left)
            };
            if key > YEAR_QUARTERS / 2 {
                return None;
            }
            if nearest.len() == num {
                // Taken in order of distance: a tie at the cut involves the last one taken.
                if nearest.last().is_some_and(|p| p >> 32 == u64::from(key)) {
                    return None;
                }
                break;
            }
            nearest.push((u64::from(key) << 32) | position);
        }
        nearest.sort_unstable();
        // Into the same allocation where usize is 64 bits wide.
        Some(
            nearest
                .into_iter()
                .map(|p| (p & 0xffff_ffff) as usize)
                .collect(),
        )
    }
}

/// A date's place in the year, in quarter days: `4 d mod 1461`.
fn phase(day: f64) -> u32 {
    (4 * day as i64).rem_euclid(i64::from(YEAR_QUARTERS)) as u32
}

/// pyccd's distance in day of year, `abs(round(d_rt / 365.25) * 365.25 - d_rt)`, in quarter
/// days, for `d_rt` a whole number of days (dates are). Its value is then exact and a whole
/// number of quarter days, `|1461 k - 4 d_rt|` for the whole `k` nearest `4 d_rt / 1461`, which
/// is never halfway between two (1461 is odd), so numpy's rounding of the quotient finds the
/// same `k`. Integer keys order as pyccd's do and cost no division or rounding.
fn quarter_days_off_year(d_rt: f64) -> u32 {
    debug_assert_eq!(d_rt.fract(), 0.0, "dates are whole days");
    let quarters = 4 * d_rt as i64;
    let years = (quarters + 730).div_euclid(1461);
    (1461 * years - quarters).unsigned_abs() as u32
}

/// pyccd's `adjustpeek`: a longer peek window when observations are denser than every 16 days.
pub(super) fn adjust_peek(dates: &[i64], default_peek: usize) -> usize {
    if dates.len() < 2 {
        return default_peek;
    }
    let diffs: Vec<f64> = dates.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let delta = median(&diffs) + 0.001;
    let adjusted = round(default_peek as f64 * 16.0 / delta);
    if adjusted > default_peek as f64 {
        adjusted as usize
    } else {
        default_peek
    }
}

/// pyccd's `adjustchgthresh`: the chi-square threshold for the adjusted peek window.
pub(super) fn adjust_change_threshold(peek: usize, default_peek: usize, threshold: f64) -> f64 {
    if peek <= default_peek {
        return threshold;
    }
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let p = 1.0 - 0.01_f64.powf(default_peek as f64 / peek as f64);
    ChiSquared::new(5.0)
        .expect("5 degrees of freedom")
        .inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::ccdc::numeric::argsort;

    /// Days of year spread irregularly over ten years, with repeats (ties in distance).
    fn period(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 730_000.0 + (i * 16 + (i * i * 7) % 23) as f64)
            .collect()
    }

    #[test]
    fn quarter_day_keys_are_pyccds_distances() {
        for d_rt in -12_000..12_000 {
            let d_rt = f64::from(d_rt);
            let pyccd = (round(d_rt / 365.25) * 365.25 - d_rt).abs();
            assert_eq!(
                f64::from(quarter_days_off_year(d_rt)),
                pyccd * 4.0,
                "{d_rt}"
            );
        }
    }

    #[test]
    fn closest_doy_selects_what_numpys_argsort_would() {
        let period = period(240);
        let (mut exact_order, mut picked) = (0, 0);
        for index in [0, 17, 80, 150, 239] {
            for (start, stop) in [(0, 240), (10, 60), (100, 131), (200, 240)] {
                let window = Window::new(start, stop);
                let closest = ClosestDoy::new(&period, window);
                for num in [1, 6, 24, 30] {
                    let num = num.min(stop - start);
                    let fast = closest.select(&period, index, num);
                    picked += usize::from(closest.pick(phase(period[index]), num).is_some());
                    let target = period[index];
                    let keys: Vec<f64> = period[start..stop]
                        .iter()
                        .map(|d| {
                            let d_rt = d - target;
                            (round(d_rt / 365.25) * 365.25 - d_rt).abs()
                        })
                        .collect();
                    let full: Vec<usize> = argsort(&keys)[..fast.len()].to_vec();
                    let (mut a, mut b) = (fast.clone(), full.clone());
                    a.sort_unstable();
                    b.sort_unstable();
                    assert_eq!(a, b, "index {index}, window {start}..{stop}, num {num}");
                    exact_order += usize::from(fast == full);
                }
            }
        }
        assert!(exact_order > 0, "some cases agree in order too");
        assert!(
            picked > 40,
            "most are picked by phase, not argsorted: {picked} of 80"
        );
    }

    #[test]
    fn closest_doy_walks_round_the_year_end() {
        // Twenty-five dates late in the year, then a target early in the next: every nearest
        // lies to its left, across the year's end, and the window holds one more than is picked.
        let mut period: Vec<f64> = (0..25).map(|y| 730_845.0 + 365.0 * y as f64).collect();
        period.push(period[24] + 30.0);
        let window = Window::new(0, 25);
        let closest = ClosestDoy::new(&period, window);
        let target = phase(period[25]);
        assert!(closest.by_phase.iter().all(|e| (e >> 32) as u32 > target));
        let mut picked = closest.pick(target, 24).expect("no tie at the cut");
        picked.sort_unstable();
        let keys: Vec<u32> = period[..25]
            .iter()
            .map(|d| quarter_days_off_year(d - period[25]))
            .collect();
        let mut full = argsort(&keys)[..24].to_vec();
        full.sort_unstable();
        assert_eq!(picked, full);
    }

    #[test]
    fn peek_grows_for_dense_series_only() {
        let every = |days: i64| (0..40).map(|i| 730_000 + i * days).collect::<Vec<i64>>();
        assert_eq!(adjust_peek(&every(16), 6), 6);
        assert_eq!(adjust_peek(&every(32), 6), 6);
        // 6 x 16 / 8.001, rounded.
        assert_eq!(adjust_peek(&every(8), 6), 12);
        assert_eq!(adjust_peek(&[730_000], 6), 6);
    }

    #[test]
    fn change_threshold_follows_the_peek() {
        assert_eq!(adjust_change_threshold(6, 6, 15.086), 15.086);
        // Peek 12 for a default of 6: chi-square(5) at 1 - 0.01^(1/2) = 0.9.
        let adjusted = adjust_change_threshold(12, 6, 15.086);
        assert!((adjusted - 9.236_357).abs() < 1e-5, "{adjusted}");
    }

    #[test]
    fn coefficients_by_observations() {
        let p = Params::default();
        assert_eq!(determine_num_coefs(12, &p), 4);
        assert_eq!(determine_num_coefs(18, &p), 6);
        assert_eq!(determine_num_coefs(23, &p), 6);
        assert_eq!(determine_num_coefs(24, &p), 8);
    }
}
