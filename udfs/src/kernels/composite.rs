//! Per-pixel temporal composites: one statistic over the clear observations in a date window.

use std::str::FromStr;

use super::qa::{is_clear, QaScheme};
use super::FILL;

/// The statistic a composite takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompositeStat {
    Median,
    Mean,
    Min,
    Max,
    /// The number of clear, valid observations in the window.
    Count,
}

impl FromStr for CompositeStat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "median" => Ok(Self::Median),
            "mean" => Ok(Self::Mean),
            "min" => Ok(Self::Min),
            "max" => Ok(Self::Max),
            "count" => Ok(Self::Count),
            other => Err(format!(
                "unknown composite statistic '{other}': expected one of median, mean, min, max, count"
            )),
        }
    }
}

/// One pixel's time series, as parallel slices. `values` uses NaN for a missing value.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// Days since 1970-01-01 (Arrow Date32).
    pub dates: &'a [i32],
    pub values: &'a [f64],
    pub qa: &'a [u16],
}

/// The statistic `stat` over the observations with `start <= date < end` that are clear under
/// `scheme` and hold a valid value (not NaN, not ARD fill). `None` when there are none, except for
/// [`CompositeStat::Count`], which is then 0.
///
/// `scratch` is reused between calls so that a scan over many pixels allocates once.
///
/// ```
/// use ardent_udfs::kernels::composite::{composite, CompositeStat, Series};
/// use ardent_udfs::kernels::qa::QaScheme;
/// let series = Series { dates: &[1, 2, 3, 4], values: &[0.2, 0.9, 0.4, 0.6], qa: &[322, 352, 322, 322] };
/// let mut scratch = Vec::new();
/// // The cloudy 0.9 is left out: median of 0.2, 0.4, 0.6.
/// assert_eq!(composite(series, QaScheme::C1, 0, 10, CompositeStat::Median, &mut scratch), Some(0.4));
/// ```
pub fn composite(
    series: Series<'_>,
    scheme: QaScheme,
    start: i32,
    end: i32,
    stat: CompositeStat,
    scratch: &mut Vec<f64>,
) -> Option<f64> {
    let fill = f64::from(FILL);
    scratch.clear();
    scratch.extend(
        series
            .dates
            .iter()
            .zip(series.values)
            .zip(series.qa)
            .filter(|((&d, &v), &q)| {
                d >= start && d < end && !v.is_nan() && v != fill && is_clear(q, scheme)
            })
            .map(|((_, &v), _)| v),
    );
    if stat == CompositeStat::Count {
        return Some(scratch.len() as f64);
    }
    if scratch.is_empty() {
        return None;
    }
    Some(match stat {
        CompositeStat::Median => median_in_place(scratch),
        CompositeStat::Mean => scratch.iter().sum::<f64>() / scratch.len() as f64,
        CompositeStat::Min => scratch.iter().copied().fold(f64::INFINITY, f64::min),
        CompositeStat::Max => scratch.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        CompositeStat::Count => unreachable!("handled above"),
    })
}

/// The median of a non-empty slice (mean of the two middle values for an even length, as numpy),
/// reordering the slice.
fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    let mid = n / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower_max = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower_max + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[f64], qa: &[u16], start: i32, end: i32, stat: CompositeStat) -> Option<f64> {
        let dates: Vec<i32> = (0..values.len() as i32).collect();
        let series = Series {
            dates: &dates,
            values,
            qa,
        };
        composite(series, QaScheme::C1, start, end, stat, &mut Vec::new())
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(
            run(
                &[4.0, 1.0, 3.0, 2.0],
                &[66; 4],
                0,
                10,
                CompositeStat::Median
            ),
            Some(2.5)
        );
        assert_eq!(
            run(&[5.0, 1.0, 3.0], &[66; 3], 0, 10, CompositeStat::Median),
            Some(3.0)
        );
    }

    #[test]
    fn window_is_half_open_and_masks_apply() {
        let values = [1.0, 2.0, f64::NAN, -9999.0, 5.0, 6.0];
        let qa = [66, 66, 66, 66, 80, 66]; // 80: snow
        assert_eq!(run(&values, &qa, 0, 6, CompositeStat::Count), Some(3.0));
        assert_eq!(run(&values, &qa, 1, 5, CompositeStat::Count), Some(1.0));
        assert_eq!(run(&values, &qa, 0, 6, CompositeStat::Mean), Some(3.0));
        assert_eq!(run(&values, &qa, 0, 6, CompositeStat::Min), Some(1.0));
        assert_eq!(run(&values, &qa, 0, 6, CompositeStat::Max), Some(6.0));
    }

    #[test]
    fn nothing_clear_gives_none_but_count_zero() {
        assert_eq!(run(&[1.0], &[352], 0, 5, CompositeStat::Median), None);
        assert_eq!(run(&[1.0], &[352], 0, 5, CompositeStat::Count), Some(0.0));
        assert_eq!(run(&[], &[], 0, 5, CompositeStat::Max), None);
    }

    #[test]
    fn stat_names() {
        assert_eq!("MEDIAN".parse::<CompositeStat>(), Ok(CompositeStat::Median));
        assert!("p90".parse::<CompositeStat>().unwrap_err().contains("p90"));
    }
}
