//! Quality: decoding QA values into pyccd's classes, the observation filters of each procedure,
//! and the cloud/snow/water probabilities (pyccd's `ccd/qa.py`).

use super::params::Params;

/// How the QA values of a series are coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QaCoding {
    /// Landsat Collection 1 ARD `pixel_qa` bits, decoded as pyccd does with `QA_BITPACKED`.
    C1,
    /// One class code per observation (CFMask), compared with the `QA_*` parameters as they are.
    Codes,
    /// Landsat Collection 2 `QA_PIXEL` bits (0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 shadow,
    /// 5 snow, 6 clear, 7 water), translated into the `QA_*` classes; pyccd has no such decoder.
    C2,
}

fn bit(value: i64, offset: i64) -> bool {
    (0..63).contains(&offset) && value & (1 << offset) != 0
}

/// pyccd's `qabitval`: the class of a C1 bit-packed value, by the hierarchy
/// fill > cloud > shadow > snow > water > clear (cirrus or terrain occlusion alone count as clear).
pub fn c1_class(value: i64, p: &Params) -> Result<i64, String> {
    let class = [
        p.qa_fill,
        p.qa_cloud,
        p.qa_shadow,
        p.qa_snow,
        p.qa_water,
        p.qa_clear,
    ]
    .into_iter()
    .find(|&offset| bit(value, offset));
    match class {
        Some(c) => Ok(c),
        None if bit(value, p.qa_cirrus1) && bit(value, p.qa_cirrus2) => Ok(p.qa_clear),
        None if bit(value, p.qa_occlusion) => Ok(p.qa_clear),
        None => Err(format!("unsupported bit-packed QA value {value}")),
    }
}

/// The class of a Collection 2 `QA_PIXEL` value, in the same hierarchy as [`c1_class`].
pub fn c2_class(value: i64, p: &Params) -> Result<i64, String> {
    let class = if bit(value, 0) {
        p.qa_fill
    } else if bit(value, 3) || bit(value, 1) {
        p.qa_cloud
    } else if bit(value, 4) {
        p.qa_shadow
    } else if bit(value, 5) {
        p.qa_snow
    } else if bit(value, 7) {
        p.qa_water
    } else if bit(value, 6) || bit(value, 2) {
        p.qa_clear
    } else {
        return Err(format!("unsupported Collection 2 QA_PIXEL value {value}"));
    };
    Ok(class)
}

/// The classes of a series of QA values.
pub fn classes(qa: &[i64], coding: QaCoding, p: &Params) -> Result<Vec<i64>, String> {
    match coding {
        QaCoding::Codes => Ok(qa.to_vec()),
        QaCoding::C1 => qa.iter().map(|&q| c1_class(q, p)).collect(),
        QaCoding::C2 => qa.iter().map(|&q| c2_class(q, p)).collect(),
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
        assert_eq!(c1_class(1 << 1, &p), Ok(p.qa_clear));
        assert_eq!(c1_class((1 << 1) | (1 << 5), &p), Ok(p.qa_cloud));
        assert_eq!(c1_class(1, &p), Ok(p.qa_fill));
        assert_eq!(c1_class((1 << 8) | (1 << 9), &p), Ok(p.qa_clear));
        assert!(c1_class(0, &p).unwrap_err().contains("unsupported"));
    }

    #[test]
    fn c2_hierarchy() {
        let p = Params::default();
        // 21824: clear + low confidences, a typical clear land pixel.
        assert_eq!(c2_class(21824, &p), Ok(p.qa_clear));
        assert_eq!(c2_class(1, &p), Ok(p.qa_fill));
        assert_eq!(c2_class(22280, &p), Ok(p.qa_cloud));
        assert_eq!(c2_class(21952, &p), Ok(p.qa_water));
    }
}
