//! Quality: decoding QA values into pyccd's classes, the observation filters of each procedure,
//! and the cloud/snow/water probabilities (pyccd's `ccd/qa.py`).

use super::params::Params;
use super::CcdcError;
use crate::kernels::qa::{classify_c1, classify_value, C1Bits, QaClass, QaScheme};

/// The pyccd class code of a decoded class under parameters `p`. A value the scheme leaves
/// unclassified gets a code no `QA_*` parameter names: it is neither clear nor any class pyccd
/// counts, which is what pyccd does with a CFmask code it does not know.
fn class_code(class: QaClass, p: &Params) -> i64 {
    match class {
        QaClass::Fill => p.qa_fill,
        QaClass::Cloud => p.qa_cloud,
        QaClass::Shadow => p.qa_shadow,
        QaClass::Snow => p.qa_snow,
        QaClass::Water => p.qa_water,
        QaClass::Clear => p.qa_clear,
        QaClass::Unclassified => UNCLASSIFIED,
    }
}

/// The code of an unclassified observation (see [`class_code`]).
const UNCLASSIFIED: i64 = -1;

/// Why a Collection 1 value can be refused, for the error message.
pub(super) const UNCLASSIFIED_NOTE: &str =
    "none of fill, cloud, shadow, snow, water, clear, high cirrus or terrain occlusion is set, so pyccd's qabitval refuses it";

/// The Collection 1 bit offsets of a run's parameters.
fn c1_bits(p: &Params) -> C1Bits {
    C1Bits {
        fill: p.qa_fill,
        clear: p.qa_clear,
        water: p.qa_water,
        shadow: p.qa_shadow,
        snow: p.qa_snow,
        cloud: p.qa_cloud,
        cirrus1: p.qa_cirrus1,
        cirrus2: p.qa_cirrus2,
        occlusion: p.qa_occlusion,
    }
}

/// The pyccd classes of a series of QA values, decoded by the one decoder SQL uses too
/// ([`crate::kernels::qa`]).
///
/// - `c1` with `QA_BITPACKED` (pyccd's default): the `c1` rule at the parameters' bit offsets;
///   an unclassified value is an error, as pyccd's `qabitval` raises. Without `QA_BITPACKED`
///   the values are pyccd class codes already, named by the `QA_*` parameters, as in pyccd.
/// - `c2`, `c2_strict`, `cfmask`: the scheme's rule, each class given its `QA_*` code.
pub fn classes(qa: &[i64], scheme: QaScheme, p: &Params) -> Result<Vec<i64>, CcdcError> {
    match scheme {
        QaScheme::C1 if !p.qa_bitpacked => Ok(qa.to_vec()),
        QaScheme::C1 => {
            let bits = c1_bits(p);
            qa.iter()
                .map(|&value| match classify_c1(value, &bits) {
                    QaClass::Unclassified => Err(CcdcError::UnsupportedQa { value }),
                    class => Ok(class_code(class, p)),
                })
                .collect()
        }
        _ => Ok(qa
            .iter()
            .map(|&value| class_code(classify_value(value, scheme, &C1Bits::default()), p))
            .collect()),
    }
}

/// How many observations hold each class pyccd's ratios read, counted in one pass (a value
/// counts for every class parameter it equals, as pyccd's separate comparisons do).
#[derive(Clone, Copy, Debug, Default)]
pub struct ClassCounts {
    total: usize,
    fill: usize,
    clear: usize,
    water: usize,
    snow: usize,
    cloud: usize,
}

impl ClassCounts {
    pub fn of<'a>(quality: impl IntoIterator<Item = &'a i64>, p: &Params) -> Self {
        let mut c = Self::default();
        for &q in quality {
            c.total += 1;
            c.fill += usize::from(q == p.qa_fill);
            c.clear += usize::from(q == p.qa_clear);
            c.water += usize::from(q == p.qa_water);
            c.snow += usize::from(q == p.qa_snow);
            c.cloud += usize::from(q == p.qa_cloud);
        }
        c
    }

    /// pyccd's `ratio_clear`: clear or water over non-fill (NaN when all is fill, as numpy's 0/0).
    pub fn ratio_clear(&self) -> f64 {
        (self.clear + self.water) as f64 / (self.total - self.fill) as f64
    }

    /// pyccd's `ratio_snow`.
    pub fn ratio_snow(&self) -> f64 {
        let snow = self.snow as f64;
        snow / ((self.clear + self.water) as f64 + snow + 0.01)
    }

    /// `(cloud, snow, water)` probabilities, as pyccd's `quality_probabilities`.
    pub fn probabilities(&self) -> (f64, f64, f64) {
        let total = self.total - self.fill;
        let cloud = if total == 0 {
            0.0
        } else {
            self.cloud as f64 / total as f64
        };
        let water = self.water as f64 / ((self.clear + self.water) as f64 + 0.01);
        (cloud, self.ratio_snow(), water)
    }
}

/// Unsaturated: every optical band strictly between 0 and 10,000.
fn unsaturated(spectra: &[Vec<f64>; 7], i: usize) -> bool {
    spectra[..6].iter().all(|b| 0.0 < b[i] && b[i] < 10000.0)
}

/// Thermal strictly within (-93.2 C, 70.7 C), scaled by 100.
fn thermal_in_range(t: f64) -> bool {
    t > -9320.0 && t < 7070.0
}

/// Keeps only the first observation of each date among those `mask` selects (`dates` sorted).
fn drop_duplicate_dates(mask: &mut [bool], dates: &[i64]) {
    let mut last = None;
    for (keep, &date) in mask.iter_mut().zip(dates) {
        if *keep {
            if last == Some(date) {
                *keep = false;
            } else {
                last = Some(date);
            }
        }
    }
}

/// pyccd's `standard_procedure_filter`: clear or water, thermal in range, unsaturated, one per date.
/// Also its `insufficient_clear_filter`, whose median-green condition writes to a copy in pyccd
/// 2021.7.19 and so never removes anything.
pub fn standard_filter(
    spectra: &[Vec<f64>; 7],
    quality: &[i64],
    dates: &[i64],
    p: &Params,
) -> Vec<bool> {
    filter(spectra, quality, dates, p, false)
}

/// pyccd's `snow_procedure_filter`: the standard filter, or snow.
pub fn snow_filter(
    spectra: &[Vec<f64>; 7],
    quality: &[i64],
    dates: &[i64],
    p: &Params,
) -> Vec<bool> {
    filter(spectra, quality, dates, p, true)
}

fn filter(
    spectra: &[Vec<f64>; 7],
    quality: &[i64],
    dates: &[i64],
    p: &Params,
    or_snow: bool,
) -> Vec<bool> {
    let mut mask: Vec<bool> = (0..dates.len())
        .map(|i| {
            ((quality[i] == p.qa_water || quality[i] == p.qa_clear)
                && thermal_in_range(spectra[p.thermal_idx][i])
                && unsaturated(spectra, i))
                || (or_snow && quality[i] == p.qa_snow)
        })
        .collect();
    drop_duplicate_dates(&mut mask, dates);
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_hierarchy() {
        let p = Params::default();
        let class = |v| classes(&[v], QaScheme::C1, &p).map(|c| c[0]);
        assert_eq!(class(1 << 1), Ok(p.qa_clear));
        assert_eq!(class((1 << 1) | (1 << 5)), Ok(p.qa_cloud));
        assert_eq!(class(1), Ok(p.qa_fill));
        assert_eq!(class((1 << 8) | (1 << 9)), Ok(p.qa_clear));
        assert_eq!(class(0), Err(CcdcError::UnsupportedQa { value: 0 }));
    }

    #[test]
    fn c2_agrees_with_sql() {
        let p = Params::default();
        // 54596 carries cirrus and USGS's clear flag: clear in `c2`, cloud in `c2_strict`, in
        // CCDC as in qa_clear().
        for (value, scheme, code) in [
            (21824, QaScheme::C2, p.qa_clear),
            (1, QaScheme::C2, p.qa_fill),
            (22280, QaScheme::C2, p.qa_cloud),
            (21952, QaScheme::C2, p.qa_water),
            (54596, QaScheme::C2, p.qa_clear),
            (54596, QaScheme::C2Strict, p.qa_cloud),
            (2, QaScheme::C2, UNCLASSIFIED),
        ] {
            assert_eq!(
                classes(&[value], scheme, &p),
                Ok(vec![code]),
                "{scheme} {value}"
            );
            let sql_clear = crate::kernels::qa::is_clear(value as u16, scheme);
            assert_eq!(sql_clear, code == p.qa_clear || code == p.qa_water);
        }
    }

    #[test]
    fn cfmask_codes_are_pyccds() {
        let p = Params::cfmask();
        let codes = [0, 1, 2, 3, 4, 255];
        assert_eq!(classes(&codes, QaScheme::Cfmask, &p), Ok(codes.to_vec()));
        assert_eq!(classes(&[7], QaScheme::Cfmask, &p), Ok(vec![UNCLASSIFIED]));
    }
}
