//! LCMAP's five change products of one pixel at a query date, from its CCDC segments, by the rules
//! of lcmap-gaia's `change_products.clj` (the code behind LCMAP's Collections 1.0-1.3).
//!
//! | product | type | value at the query date |
//! |---|---|---|
//! | SCTIME | uint16 | day of year of a break (change probability 1) in the query date's calendar year; the latest such day; else 0 |
//! | SCMAG | float32 | Euclidean norm of the green, red, nir, swir1 and swir2 magnitudes of such a break; the largest; else 0 |
//! | SCLAST | uint16 | days since the most recent break on or before the query date; 0 if none |
//! | SCSTAB | uint16 | days since the start of the segment covering the date, or since the end of the last segment before it; the fewest. A date before every segment, or no segment, gets the days since 1982-01-01 |
//! | SCMQA | uint8 | the curve QA of the segment covering the date (start and end inclusive); else 0 |
//!
//! LCMAP computes them at July 1 of each year ([`july_first`]). Days are proleptic Gregorian
//! ordinals, pyccd's dates (0001-01-01 is day 1).

use chrono::{Datelike, NaiveDate};

/// The one-time statistics start LCMAP counts stability from when no segment applies.
pub const STABILITY_BEGIN: (i32, u32, u32) = (1982, 1, 1);

/// What the change products need of a CCDC segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub start_day: i64,
    pub end_day: i64,
    pub break_day: i64,
    pub change_probability: f64,
    pub curve_qa: i64,
    /// Magnitudes of green, red, nir, swir1 and swir2 (not blue, not thermal).
    pub magnitudes: [f64; 5],
}

impl From<&super::ccdc::ChangeModel> for Segment {
    fn from(m: &super::ccdc::ChangeModel) -> Self {
        Segment {
            start_day: m.start_day,
            end_day: m.end_day,
            break_day: m.break_day,
            change_probability: m.change_probability,
            curve_qa: m.curve_qa,
            magnitudes: std::array::from_fn(|b| m.bands[b + 1].magnitude),
        }
    }
}

/// The five change products of one pixel at one date.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChangeProducts {
    pub sctime: u16,
    pub scmag: f32,
    pub sclast: u16,
    pub scstab: u16,
    pub scmqa: u8,
}

/// The ordinal of a calendar date.
pub fn ordinal(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// The calendar date of an ordinal, if it is one chrono can hold.
pub fn date_of(ordinal: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(ordinal).ok()?)
}

/// July 1 of `year`, LCMAP's query date, as an ordinal; `None` for a year chrono cannot hold.
pub fn july_first(year: i32) -> Option<i64> {
    NaiveDate::from_ymd_opt(year, 7, 1).map(ordinal)
}

/// A break that counts as a change: its change probability is exactly 1, as gaia requires.
fn is_change(segment: &Segment) -> bool {
    segment.change_probability == 1.0
}

/// The change products of a pixel with `segments` at the ordinal `date`.
///
/// ```
/// use ardent_udfs::kernels::products::{change_products, july_first, ordinal, Segment};
/// use chrono::NaiveDate;
/// let day = |y, m, d| ordinal(NaiveDate::from_ymd_opt(y, m, d).unwrap());
/// let segment = Segment {
///     start_day: day(2010, 1, 1),
///     end_day: day(2015, 3, 1),
///     break_day: day(2015, 3, 17),
///     change_probability: 1.0,
///     curve_qa: 8,
///     magnitudes: [3.0, 4.0, 0.0, 0.0, 0.0],
/// };
/// let p = change_products(&[segment], july_first(2015).unwrap());
/// assert_eq!((p.sctime, p.scmag, p.sclast), (76, 5.0, 106));
/// ```
pub fn change_products(segments: &[Segment], date: i64) -> ChangeProducts {
    let year = date_of(date).map(|d| d.year());
    let in_year: Vec<&Segment> = segments
        .iter()
        .filter(|s| is_change(s) && date_of(s.break_day).map(|d| d.year()) == year)
        .collect();
    let sctime = in_year
        .iter()
        .filter_map(|s| date_of(s.break_day))
        .map(|d| d.ordinal() as u16)
        .max()
        .unwrap_or(0);
    let scmag = in_year
        .iter()
        .map(|s| s.magnitudes.iter().map(|m| m * m).sum::<f64>().sqrt())
        .fold(0.0, f64::max) as f32;
    let sclast = segments
        .iter()
        .filter(|s| is_change(s) && date >= s.break_day)
        .map(|s| date - s.break_day)
        .min()
        .map_or(0, saturate_u16);
    let scmqa = segments
        .iter()
        .filter(|s| (s.start_day..=s.end_day).contains(&date))
        .map(|s| s.curve_qa)
        .max()
        .map_or(0, |qa| u8::try_from(qa.clamp(0, 255)).unwrap_or(u8::MAX));
    ChangeProducts {
        sctime,
        scmag,
        sclast,
        scstab: saturate_u16(stability(segments, date)),
        scmqa,
    }
}

/// SCSTAB before it is stored: gaia's `length-of-segment`, the fewest days since a segment
/// started (date inside it) or ended (date after it), at most the days since 1982-01-01.
fn stability(segments: &[Segment], date: i64) -> i64 {
    let (y, m, d) = STABILITY_BEGIN;
    let fill = date - ordinal(NaiveDate::from_ymd_opt(y, m, d).expect("a valid date"));
    segments
        .iter()
        .map(|s| {
            let since = if date > s.end_day {
                date - s.end_day
            } else {
                date - s.start_day
            };
            if (0..fill).contains(&since) {
                since
            } else {
                fill
            }
        })
        .min()
        .unwrap_or(fill)
}

fn saturate_u16(days: i64) -> u16 {
    u16::try_from(days.max(0)).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        ordinal(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn segment(start: i64, end: i64, brk: i64, probability: f64, qa: i64) -> Segment {
        Segment {
            start_day: start,
            end_day: end,
            break_day: brk,
            change_probability: probability,
            curve_qa: qa,
            magnitudes: [1.0, 2.0, 2.0, 0.0, 4.0],
        }
    }

    #[test]
    fn ordinals_are_pycccds() {
        assert_eq!(day(1, 1, 1), 1);
        assert_eq!(day(2017, 12, 31), 736_694); // pyccd's STAT_ORD
        assert_eq!(date_of(736_694), NaiveDate::from_ymd_opt(2017, 12, 31));
    }

    #[test]
    fn a_break_in_the_query_year() {
        // A stable segment to a break on 2015-03-17, then one to the end of the series.
        let segments = [
            segment(day(2010, 1, 5), day(2015, 3, 1), day(2015, 3, 17), 1.0, 8),
            segment(
                day(2015, 4, 2),
                day(2019, 12, 20),
                day(2019, 12, 20),
                0.0,
                6,
            ),
        ];
        let at = july_first(2015).unwrap();
        let p = change_products(&segments, at);
        assert_eq!(p.sctime, 76);
        assert_eq!(p.scmag, 5.0); // sqrt(1 + 4 + 4 + 0 + 16)
        assert_eq!(p.sclast, (at - day(2015, 3, 17)) as u16);
        assert_eq!(p.scstab, (at - day(2015, 4, 2)) as u16);
        assert_eq!(p.scmqa, 6);
        // The next year: no break in it, the last one a year further back.
        let p = change_products(&segments, july_first(2016).unwrap());
        assert_eq!((p.sctime, p.scmag), (0, 0.0));
        assert_eq!(
            p.sclast,
            (july_first(2016).unwrap() - day(2015, 3, 17)) as u16
        );
    }

    #[test]
    fn no_break() {
        let segments = [segment(
            day(2010, 1, 5),
            day(2019, 12, 20),
            day(2019, 12, 20),
            0.0,
            8,
        )];
        let at = july_first(2015).unwrap();
        let p = change_products(&segments, at);
        assert_eq!((p.sctime, p.scmag, p.sclast), (0, 0.0, 0));
        assert_eq!(p.scstab, (at - day(2010, 1, 5)) as u16);
        assert_eq!(p.scmqa, 8);
    }

    #[test]
    fn several_breaks_in_one_year_take_the_latest_and_largest() {
        let mut big = segment(day(2012, 1, 1), day(2014, 12, 1), day(2015, 1, 1), 1.0, 8);
        big.magnitudes = [30.0, 40.0, 0.0, 0.0, 0.0];
        let segments = [
            big,
            segment(day(2015, 1, 2), day(2015, 5, 1), day(2015, 6, 1), 1.0, 4),
            segment(day(2015, 6, 2), day(2018, 1, 1), day(2018, 1, 1), 0.0, 8),
        ];
        let at = july_first(2015).unwrap();
        let p = change_products(&segments, at);
        assert_eq!(p.sctime, 152, "June 1 is day 152");
        assert_eq!(p.scmag, 50.0);
        assert_eq!(p.sclast, 30, "from the most recent break");
        assert_eq!(p.scstab, (at - day(2015, 6, 2)) as u16);
    }

    #[test]
    fn breaks_at_the_years_edges() {
        let jan1 = segment(day(2010, 1, 1), day(2014, 12, 20), day(2015, 1, 1), 1.0, 8);
        let dec31 = segment(
            day(2010, 1, 1),
            day(2014, 12, 20),
            day(2014, 12, 31),
            1.0,
            8,
        );
        let at = july_first(2015).unwrap();
        assert_eq!(change_products(&[jan1], at).sctime, 1);
        let p = change_products(&[dec31], at);
        assert_eq!(p.sctime, 0, "a break on Dec 31 belongs to the year before");
        assert_eq!(p.sclast, (at - day(2014, 12, 31)) as u16);
        // A break after the query date in its year still counts for SCTIME, not for SCLAST.
        let later = segment(day(2010, 1, 1), day(2015, 8, 1), day(2015, 9, 1), 1.0, 8);
        let p = change_products(&[later], at);
        assert_eq!((p.sctime, p.sclast), (244, 0));
        // A break with a change probability below 1 is not a change.
        let partial = segment(day(2010, 1, 1), day(2015, 3, 1), day(2015, 3, 1), 0.5, 24);
        assert_eq!(change_products(&[partial], at).sctime, 0);
    }

    #[test]
    fn dates_outside_every_segment() {
        let at = july_first(2015).unwrap();
        let fill = (at - day(1982, 1, 1)) as u16;
        // No segments: nothing but the stability fill.
        let p = change_products(&[], at);
        assert_eq!(
            p,
            ChangeProducts {
                scstab: fill,
                ..ChangeProducts::default()
            }
        );
        // Before the first segment.
        let later = segment(day(2016, 1, 1), day(2019, 1, 1), day(2019, 1, 1), 0.0, 8);
        let p = change_products(&[later], at);
        assert_eq!((p.scstab, p.scmqa), (fill, 0));
        // After the last segment: days since it ended.
        let earlier = segment(day(2010, 1, 1), day(2014, 7, 1), day(2014, 7, 1), 0.0, 8);
        let p = change_products(&[earlier], at);
        assert_eq!((p.scstab, p.scmqa), (365, 0));
        // The covering segment's QA, with its first and last day inclusive.
        let covering = segment(day(2010, 1, 1), at, at, 0.0, 14);
        assert_eq!(change_products(&[covering], at).scmqa, 14);
    }
}
