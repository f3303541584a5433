//! LCMAP's land cover from CCDC segments: the classifier's features of a segment at a date
//! (lcmap-blackmagic's `segaux.py`), the class probabilities of each segment at each July 1 it
//! spans, and the five cover products at a query date with lcmap-gaia's rules
//! (`cover_products.clj`): mean probabilities per segment, the NBR growth and decline
//! overrides, gap filling between segments, the confidence and provenance codes, and the
//! from-to change code.
//!
//! Days are pyccd's proleptic Gregorian ordinals throughout. (gaia counts days from 0001-01-01
//! as day 0, one less on every date alike, which no rule depends on.)

use chrono::Datelike;

use super::booster::{Booster, BoosterError};
use super::ccdc::ChangeModel;
use super::products::{date_of, ordinal};

/// LCMAP's classes, the index of each in a probability vector.
pub const NONE: u8 = 0;
pub const DEVELOPED: u8 = 1;
pub const CROPLAND: u8 = 2;
pub const GRASS_SHRUB: u8 = 3;
pub const TREE: u8 = 4;
pub const WATER: u8 = 5;
pub const WETLAND: u8 = 6;
pub const SNOW_ICE: u8 = 7;
pub const BARREN: u8 = 8;
/// The number of classes a model predicts (with "none" as class 0).
pub const CLASSES: usize = 9;
/// The classes' names, by class value.
pub const CLASS_NAMES: [&str; CLASSES] = [
    "none",
    "developed",
    "cropland",
    "grass/shrub",
    "tree cover",
    "water",
    "wetland",
    "ice/snow",
    "barren",
];

/// Confidence values that are provenance codes, not probabilities (gaia's `lc_defaults`).
pub mod provenance {
    /// Inside a segment whose class grew from grass/shrub to tree.
    pub const GROWTH: u8 = 151;
    /// Inside a segment whose class declined from tree to grass/shrub.
    pub const DECLINE: u8 = 152;
    /// The pixel has segments but none the classifier could date (none spans a July 1).
    pub const NO_MODEL: u8 = 201;
    /// After the last segment, which ended without a break.
    pub const FORWARDS: u8 = 202;
    /// In a gap between segments of the same class.
    pub const SAME_CLASS_GAP: u8 = 211;
    /// In a gap between segments of different classes.
    pub const DIFFERENT_CLASS_GAP: u8 = 212;
    /// Before the first segment.
    pub const BACK: u8 = 213;
    /// After the last segment, which ended in a break.
    pub const AFTER_BREAK: u8 = 214;
}

/// LCMAP's class for an NLCD class code (its crosswalk); 0 for codes without one.
pub fn nlcd_class(code: i64) -> u8 {
    match code {
        11 => WATER,
        12 => SNOW_ICE,
        21..=24 => DEVELOPED,
        31 => BARREN,
        41..=43 => TREE,
        51 | 52 | 71..=74 => GRASS_SHRUB,
        81 | 82 => CROPLAND,
        90 | 95 => WETLAND,
        _ => NONE,
    }
}

/// The features of one segment per band, in this order: seven coefficients, RMSE and the
/// "average reflectance" (intercept + slope x the prediction date).
pub const FEATURES_PER_BAND: usize = 9;
/// Features from a segment: 63 (LCMAP's 68 less its five auxiliary layers).
pub const SEGMENT_FEATURES: usize = 7 * FEATURES_PER_BAND;
/// LCMAP's band order in the features (blue, green, nir, red, swir1, swir2, thermal), as
/// indices into pyccd's order.
const FEATURE_BANDS: [usize; 7] = [0, 1, 3, 2, 4, 5, 6];

/// The classifier's features of `model` at the ordinal `day`: the auxiliary values first (LCMAP
/// used aspect, posidex, slope, mpw and dem), then per band in LCMAP's order its coefficients,
/// RMSE and intercept + slope x day, as 32-bit floats as XGBoost reads them.
pub fn features(model: &ChangeModel, day: i64, aux: &[f32]) -> Vec<f32> {
    let mut row = Vec::with_capacity(aux.len() + SEGMENT_FEATURES);
    push_features(&mut row, model, day, aux);
    row
}

/// Appends [`features`] to `rows`, where a batch's rows are gathered without a vector each.
fn push_features(rows: &mut Vec<f32>, model: &ChangeModel, day: i64, aux: &[f32]) {
    rows.extend_from_slice(aux);
    for b in FEATURE_BANDS {
        let band = &model.bands[b];
        rows.extend(band.coefficients.iter().map(|&c| c as f32));
        rows.push(band.rmse as f32);
        rows.push((band.intercept + band.coefficients[0] * day as f64) as f32);
    }
}

/// The prediction dates of a segment: `month`/`day` of each year from its start to its end
/// that falls within them (LCMAP predicts on July 1).
pub fn prediction_dates(start_day: i64, end_day: i64, (month, day): (u32, u32)) -> Vec<i64> {
    let (Some(start), Some(end)) = (date_of(start_day), date_of(end_day)) else {
        return Vec::new();
    };
    (start.year()..=end.year())
        .filter_map(|y| chrono::NaiveDate::from_ymd_opt(y, month, day))
        .map(ordinal)
        .filter(|d| (start_day..=end_day).contains(d))
        .collect()
}

/// The segments of `models` that the cover products at `day` read, in their order: at `day` and
/// at the same day a year earlier, the segment spanning it, the two around a gap it falls in, or
/// the first or the last segment, among those that span a prediction date (`on` of a year); and
/// the segments that span none, which the rules pass over and the classifier has nothing to do
/// for. The products of these are the products of all of them, since a rule reads no other
/// segment; so a pixel's long series costs the classifier no more than its few segments around
/// the query.
pub fn segments_read_at(models: &[ChangeModel], day: i64, on: (u32, u32)) -> Vec<ChangeModel> {
    let dated: Vec<bool> = models
        .iter()
        .map(|m| !prediction_dates(m.start_day, m.end_day, on).is_empty())
        .collect();
    let mut spans: Vec<(i64, i64, usize)> = (0..models.len())
        .filter(|&i| dated[i])
        .map(|i| (models[i].start_day, models[i].end_day, i))
        .collect();
    spans.sort_unstable();
    let mut read = vec![false; models.len()];
    for d in std::iter::once(day).chain(year_before(day)) {
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            break;
        };
        if d < first.0 {
            read[first.2] = true;
        } else if d > last.1 {
            read[last.2] = true;
        } else if let Some(s) = spans.iter().find(|s| (s.0..=s.1).contains(&d)) {
            read[s.2] = true;
        } else if let Some(w) = spans.windows(2).find(|w| d > w[0].1 && d < w[1].0) {
            read[w[0].2] = true;
            read[w[1].2] = true;
        }
    }
    models
        .iter()
        .enumerate()
        .filter(|&(i, _)| read[i] || !dated[i])
        .map(|(_, m)| m.clone())
        .collect()
}

/// The same day a year earlier (February 29 has none).
fn year_before(day: i64) -> Option<i64> {
    date_of(day)
        .and_then(|d| d.with_year(d.year() - 1))
        .map(ordinal)
}

/// One segment with the classifier's probabilities at each of its prediction dates.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifiedSegment {
    pub start_day: i64,
    pub end_day: i64,
    pub break_day: i64,
    pub change_probability: f64,
    /// The change of NBR over the segment, from its nir and swir1 models at start and end.
    pub nbr_change: f64,
    /// (day, probabilities) in date order.
    pub predictions: Vec<(i64, Vec<f32>)>,
}

/// NBR at the segment's end less NBR at its start, each from the nir and swir1 intercept +
/// slope x day (gaia's `normalized-burn-ratio`).
fn nbr_change(model: &ChangeModel) -> f64 {
    let (nir, swir1) = (&model.bands[3], &model.bands[4]);
    let nbr = |day: i64| {
        let at = |b: &super::ccdc::BandModel| b.intercept + b.coefficients[0] * day as f64;
        let (n, s) = (at(nir), at(swir1));
        f64::from(((n - s) / (n + s)) as f32)
    };
    nbr(model.end_day) - nbr(model.start_day)
}

/// Classifies every segment of many pixels (each its change models and auxiliary values) at
/// each of the segment's prediction dates, all their rows predicted in one pass over the model,
/// a segment's rows walking the trees together (they differ only in the date's features).
pub fn classify_pixels(
    pixels: &[(&[ChangeModel], &[f32])],
    booster: &Booster,
    on: (u32, u32),
) -> Result<Vec<Vec<ClassifiedSegment>>, BoosterError> {
    let mut rows = Vec::new();
    let mut groups = Vec::new();
    let mut days = Vec::with_capacity(pixels.len());
    for (models, aux) in pixels {
        if aux.len() + SEGMENT_FEATURES != booster.features() {
            return Err(BoosterError::Features {
                expected: booster.features(),
                got: aux.len() + SEGMENT_FEATURES,
            });
        }
        let pixel_days: Vec<Vec<i64>> = models
            .iter()
            .map(|m| prediction_dates(m.start_day, m.end_day, on))
            .collect();
        for (m, segment_days) in models.iter().zip(&pixel_days) {
            for &day in segment_days {
                push_features(&mut rows, m, day, aux);
            }
            groups.push(segment_days.len());
        }
        days.push(pixel_days);
    }
    let probabilities = booster.predict_groups(&rows, &groups);
    let mut each = probabilities
        .chunks_exact(booster.classes())
        .map(<[f32]>::to_vec);
    Ok(pixels
        .iter()
        .zip(days)
        .map(|((models, _), pixel_days)| {
            let mut segments: Vec<ClassifiedSegment> = models
                .iter()
                .zip(pixel_days)
                .map(|(m, segment_days)| ClassifiedSegment {
                    start_day: m.start_day,
                    end_day: m.end_day,
                    break_day: m.break_day,
                    change_probability: m.change_probability,
                    nbr_change: nbr_change(m),
                    predictions: segment_days.into_iter().zip(each.by_ref()).collect(),
                })
                .collect();
            segments.sort_by_key(|s| s.start_day);
            segments
        })
        .collect())
}

/// The class at `rank` (0 first, 1 second) of a probability vector: the position of the
/// rank-th largest value, its first occurrence (so equal top probabilities give the same class
/// twice, as gaia's `get-class` does); `NONE` for no probabilities.
fn ranked_class(probabilities: &[f32], rank: usize) -> u8 {
    let mut sorted = probabilities.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted
        .get(rank)
        .and_then(|v| probabilities.iter().position(|p| p == v))
        .map_or(NONE, |i| i as u8)
}

/// The mean probability vector over a segment's predictions.
fn mean_probabilities(predictions: &[(i64, Vec<f32>)]) -> Vec<f32> {
    let n = predictions.first().map_or(0, |(_, p)| p.len());
    (0..n)
        .map(|i| {
            let sum: f64 = predictions.iter().map(|(_, p)| f64::from(p[i])).sum();
            (sum / predictions.len() as f64) as f32
        })
        .collect()
}

/// What gaia's `characterize-segment` makes of a segment at a query day.
#[derive(Clone, Debug)]
struct Character {
    start_day: i64,
    end_day: i64,
    break_day: i64,
    change_probability: f64,
    growth: bool,
    decline: bool,
    classes: [u8; 2],
    mean: Vec<f32>,
}

impl Character {
    fn of(s: &ClassifiedSegment, day: i64) -> Character {
        let first = ranked_class(&s.predictions[0].1, 0);
        let last = ranked_class(&s.predictions[s.predictions.len() - 1].1, 0);
        let growth = s.nbr_change > 0.05 && first == GRASS_SHRUB && last == TREE;
        let decline = s.nbr_change < -0.05 && first == TREE && last == GRASS_SHRUB;
        let first_day_of = |class: u8| {
            s.predictions
                .iter()
                .find(|(_, p)| ranked_class(p, 0) == class)
                .map(|(d, _)| *d)
        };
        let mean = mean_probabilities(&s.predictions);
        let classes = [0, 1].map(|rank| {
            // Growth: grass/shrub first, tree from the first tree date on; decline mirrors it.
            let turned = |to: u8, from: u8| {
                let after = first_day_of(to).is_some_and(|d| day >= d);
                let ranked = if after { [to, from] } else { [from, to] };
                ranked[rank]
            };
            if growth {
                turned(TREE, GRASS_SHRUB)
            } else if decline {
                turned(GRASS_SHRUB, TREE)
            } else {
                ranked_class(&mean, rank)
            }
        });
        Character {
            start_day: s.start_day,
            end_day: s.end_day,
            break_day: s.break_day,
            change_probability: s.change_probability,
            growth,
            decline,
            classes,
            mean,
        }
    }

    fn intersects(&self, day: i64) -> bool {
        (self.start_day..=self.end_day).contains(&day)
    }
}

/// The five cover products of one pixel at one date. Classes and confidences are LCMAP's uint8
/// values; 0 is fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoverProducts {
    /// LCPRI, the primary class.
    pub lcpri: u8,
    /// LCSEC, the secondary class.
    pub lcsec: u8,
    /// LCPCONF, the primary confidence: the mean probability x 100 (at least 1) inside a
    /// segment, else a [`provenance`] code.
    pub lcpconf: u8,
    /// LCSCONF, the secondary confidence.
    pub lcsconf: u8,
    /// LCACHG, annual change: the primary class if it is last year's, else last year's class
    /// and this year's as two digits (43: tree cover to grass/shrub).
    pub lcachg: u8,
}

/// Primary and secondary class at `day` (gaia's `landcover`), or `None` for a pixel without
/// classifiable segments.
fn landcover(segments: &[Character], day: i64) -> Option<[u8; 2]> {
    let (first, last) = (segments.first()?, segments.last()?);
    if day < first.start_day {
        return Some(first.classes);
    }
    if day > last.end_day {
        return Some(last.classes);
    }
    if let Some(s) = segments.iter().find(|s| s.intersects(day)) {
        return Some(s.classes);
    }
    // In a gap: the segment after it if both sides have the same primary class or the earlier
    // segment's break has passed, else the earlier segment.
    let (before, after) = gap(segments, day)?;
    if before.classes[0] == after.classes[0] || day >= before.break_day {
        Some(after.classes)
    } else {
        Some(before.classes)
    }
}

/// The two consecutive segments around a day that falls between them.
fn gap(segments: &[Character], day: i64) -> Option<(&Character, &Character)> {
    segments
        .windows(2)
        .find(|w| day > w[0].end_day && day < w[1].start_day)
        .map(|w| (&w[0], &w[1]))
}

/// Primary and secondary confidence at `day` (gaia's `confidence`).
fn confidence(segments: &[Character], day: i64) -> [u8; 2] {
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return [provenance::NO_MODEL; 2];
    };
    let code = |c: u8| [c, c];
    if day < first.start_day {
        return code(provenance::BACK);
    }
    if day > last.end_day {
        return code(if last.change_probability == 1.0 {
            provenance::AFTER_BREAK
        } else {
            provenance::FORWARDS
        });
    }
    if let Some(s) = segments.iter().find(|s| s.intersects(day)) {
        if s.growth {
            return code(provenance::GROWTH);
        }
        if s.decline {
            return code(provenance::DECLINE);
        }
        let mut sorted = s.mean.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        return [0, 1].map(|rank| {
            let percent = f64::from(sorted.get(rank).copied().unwrap_or(0.0)) * 100.0;
            if percent < 1.0 {
                1
            } else {
                percent as u8
            }
        });
    }
    match gap(segments, day) {
        Some((before, after)) => [0, 1].map(|rank| {
            if before.classes[rank] == after.classes[rank] {
                provenance::SAME_CLASS_GAP
            } else {
                provenance::DIFFERENT_CLASS_GAP
            }
        }),
        None => [NONE; 2],
    }
}

/// The cover products of a pixel with classified `segments` at the ordinal `day`; LCACHG
/// compares with the same day a year earlier. A pixel without segments gets fill (0); one
/// whose segments span no prediction date gets class 0 with [`provenance::NO_MODEL`] (gaia
/// raised an error there).
///
/// ```
/// use ardent_udfs::kernels::cover::{cover_products, ClassifiedSegment, TREE};
/// use ardent_udfs::kernels::products::july_first;
/// let mut p = vec![0.0f32; 9];
/// p[TREE as usize] = 0.75;
/// p[3] = 0.25;
/// let forest = ClassifiedSegment {
///     start_day: july_first(2000).unwrap() - 100, end_day: july_first(2010).unwrap() + 10,
///     break_day: july_first(2010).unwrap() + 30, change_probability: 1.0, nbr_change: 0.0,
///     predictions: (2000..=2010).map(|y| (july_first(y).unwrap(), p.clone())).collect(),
/// };
/// let products = cover_products(&[forest], july_first(2005).unwrap());
/// assert_eq!((products.lcpri, products.lcsec, products.lcpconf, products.lcsconf), (4, 3, 75, 25));
/// assert_eq!(products.lcachg, 4);
/// ```
pub fn cover_products(segments: &[ClassifiedSegment], day: i64) -> CoverProducts {
    if segments.is_empty() {
        return CoverProducts::default();
    }
    let at = |day: i64| -> Vec<Character> {
        segments
            .iter()
            .filter(|s| !s.predictions.is_empty())
            .map(|s| Character::of(s, day))
            .collect()
    };
    let now = at(day);
    let [lcpri, lcsec] = landcover(&now, day).unwrap_or([NONE; 2]);
    let [lcpconf, lcsconf] = confidence(&now, day);
    let previous = year_before(day)
        .and_then(|d| landcover(&at(d), d))
        .map_or(NONE, |c| c[0]);
    let lcachg = if previous == lcpri {
        lcpri
    } else {
        previous * 10 + lcpri
    };
    CoverProducts {
        lcpri,
        lcsec,
        lcpconf,
        lcsconf,
        lcachg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::products::july_first;

    fn probabilities(class: u8, p: f32, second: u8) -> Vec<f32> {
        let mut v = vec![0.0; CLASSES];
        v[class as usize] = p;
        v[second as usize] += 1.0 - p;
        v
    }

    /// A segment from mid-`from` to mid-`to`, breaking `break_after` days after its end,
    /// predicted as `class` each July 1.
    fn segment(from: i32, to: i32, classes: &[u8], break_after: i64) -> ClassifiedSegment {
        let (start, end) = (july_first(from).unwrap() - 30, july_first(to).unwrap() + 30);
        let dates = prediction_dates(start, end, (7, 1));
        ClassifiedSegment {
            start_day: start,
            end_day: end,
            break_day: end + break_after,
            change_probability: if break_after > 0 { 1.0 } else { 0.0 },
            nbr_change: 0.0,
            predictions: dates
                .iter()
                .enumerate()
                .map(|(k, &d)| {
                    (
                        d,
                        probabilities(classes[k.min(classes.len() - 1)], 0.8, BARREN),
                    )
                })
                .collect(),
        }
    }

    fn at(segments: &[ClassifiedSegment], year: i32, month: u32) -> CoverProducts {
        let day = ordinal(chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap());
        cover_products(segments, day)
    }

    #[test]
    fn crosswalk_follows_lcmap() {
        let got: Vec<u8> = [11, 12, 21, 24, 31, 41, 43, 52, 71, 81, 82, 90, 95, 0, 99]
            .map(nlcd_class)
            .to_vec();
        assert_eq!(got, [5, 7, 1, 1, 8, 4, 4, 3, 3, 2, 2, 6, 6, 0, 0]);
    }

    #[test]
    fn prediction_dates_are_the_july_firsts_inside() {
        let (s, e) = (july_first(2001).unwrap(), july_first(2003).unwrap() - 1);
        assert_eq!(
            prediction_dates(s, e, (7, 1)),
            vec![july_first(2001).unwrap(), july_first(2002).unwrap()]
        );
        assert!(prediction_dates(s + 1, s + 200, (7, 1)).is_empty());
    }

    #[test]
    fn features_follow_lcmap_order() {
        let mut model = ChangeModel {
            start_day: 0,
            end_day: 0,
            break_day: 0,
            observation_count: 0,
            change_probability: 0.0,
            curve_qa: 8,
            bands: std::array::from_fn(|b| super::super::ccdc::BandModel {
                magnitude: 0.0,
                rmse: 10.0 * b as f64,
                coefficients: [0.0; 7],
                intercept: 100.0 * b as f64,
            }),
        };
        model.bands[3].coefficients[0] = 0.5;
        let row = features(&model, 10, &[7.0]);
        assert_eq!(row.len(), 1 + SEGMENT_FEATURES);
        assert_eq!(row[0], 7.0);
        // Third band in the features is nir (pyccd's fourth): slope 0.5, rmse 30, 300 + 5.
        let nir = &row[1 + 2 * FEATURES_PER_BAND..1 + 3 * FEATURES_PER_BAND];
        assert_eq!((nir[0], nir[7], nir[8]), (0.5, 30.0, 305.0));
    }

    #[test]
    fn inside_a_segment_the_mean_ranks_the_classes() {
        let segments = [segment(2000, 2010, &[TREE], 20)];
        let p = at(&segments, 2005, 7);
        assert_eq!(
            (p.lcpri, p.lcsec, p.lcpconf, p.lcsconf),
            (TREE, BARREN, 80, 19)
        );
        // Float rounding: 0.2 x 100 truncates to 19, as gaia's (int) does.
        assert_eq!(p.lcachg, TREE);
    }

    #[test]
    fn before_after_and_between_segments() {
        let segments = [
            segment(2000, 2005, &[TREE], 40),
            segment(2007, 2012, &[DEVELOPED], 0),
        ];
        let before = at(&segments, 1998, 7);
        assert_eq!((before.lcpri, before.lcpconf), (TREE, provenance::BACK));
        let after = at(&segments, 2014, 7);
        assert_eq!(
            (after.lcpri, after.lcpconf),
            (DEVELOPED, provenance::FORWARDS)
        );
        // In the gap, before the first segment's break: the earlier class.
        let gap_early = cover_products(&segments, segments[0].end_day + 10);
        assert_eq!(
            (gap_early.lcpri, gap_early.lcpconf),
            (TREE, provenance::DIFFERENT_CLASS_GAP)
        );
        // After the break: the later class; LCACHG reports tree to developed once.
        let gap_late = at(&segments, 2006, 7);
        assert_eq!((gap_late.lcpri, gap_late.lcachg), (DEVELOPED, 41));
        assert_eq!(at(&segments, 2008, 7).lcachg, DEVELOPED);
    }

    #[test]
    fn gaps_between_segments_of_one_class_keep_it() {
        let segments = [
            segment(2000, 2004, &[TREE], 400),
            segment(2006, 2010, &[TREE], 0),
        ];
        let p = cover_products(&segments, segments[0].end_day + 5);
        assert_eq!((p.lcpri, p.lcpconf, p.lcsconf), (TREE, 211, 211));
    }

    #[test]
    fn after_a_final_break() {
        let segments = [segment(2000, 2004, &[GRASS_SHRUB], 30)];
        let p = at(&segments, 2006, 7);
        assert_eq!((p.lcpri, p.lcpconf), (GRASS_SHRUB, provenance::AFTER_BREAK));
    }

    #[test]
    fn growth_and_decline_overrides() {
        let mut grow = segment(
            2000,
            2008,
            &[GRASS_SHRUB, GRASS_SHRUB, GRASS_SHRUB, TREE],
            0,
        );
        grow.nbr_change = 0.2;
        let early = at(std::slice::from_ref(&grow), 2001, 7);
        assert_eq!((early.lcpri, early.lcsec), (GRASS_SHRUB, TREE));
        assert_eq!(early.lcpconf, provenance::GROWTH);
        // From the first tree date on: tree, and LCACHG reports grass/shrub to tree.
        let late = at(std::slice::from_ref(&grow), 2003, 7);
        assert_eq!(
            (late.lcpri, late.lcsec, late.lcachg),
            (TREE, GRASS_SHRUB, 34)
        );
        // Without the NBR rise, the mean decides (six tree years of nine): tree all along.
        grow.nbr_change = 0.01;
        let p = at(&[grow], 2001, 7);
        assert_eq!((p.lcpri, p.lcsec), (TREE, GRASS_SHRUB));
        let mut decline = segment(2000, 2008, &[TREE, GRASS_SHRUB], 0);
        decline.nbr_change = -0.2;
        let p = at(&[decline], 2003, 7);
        assert_eq!((p.lcpri, p.lcpconf), (GRASS_SHRUB, provenance::DECLINE));
    }

    #[test]
    fn no_segments_and_unclassifiable_segments() {
        assert_eq!(cover_products(&[], 730_000), CoverProducts::default());
        let mut short = segment(2000, 2001, &[TREE], 0);
        short.predictions.clear();
        let p = cover_products(&[short], july_first(2000).unwrap());
        assert_eq!((p.lcpri, p.lcpconf), (NONE, provenance::NO_MODEL));
    }
}
