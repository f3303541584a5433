//! Spectral indices.

use super::FILL;

/// `(a - b) / (a + b)`, the shape of every normalized-difference index.
///
/// Returns `None` where either input is ARD fill (-9999) or NaN, or where `a + b` is zero, so that a
/// masked or empty observation never turns into a plausible-looking index value.
///
/// ```
/// use ardent_udfs::kernels::indices::normalized_difference;
/// assert_eq!(normalized_difference(3.0, 1.0), Some(0.5));
/// assert_eq!(normalized_difference(-9999.0, 1.0), None);
/// assert_eq!(normalized_difference(1.0, -1.0), None);
/// ```
#[inline]
pub fn normalized_difference(a: f64, b: f64) -> Option<f64> {
    let fill = f64::from(FILL);
    if a.is_nan() || b.is_nan() || a == fill || b == fill {
        return None;
    }
    let sum = a + b;
    if sum == 0.0 {
        return None;
    }
    Some((a - b) / sum)
}

/// Normalized difference vegetation index: `(nir - red) / (nir + red)`.
#[inline]
pub fn ndvi(red: f64, nir: f64) -> Option<f64> {
    normalized_difference(nir, red)
}

/// Normalized burn ratio: `(nir - swir2) / (nir + swir2)`.
#[inline]
pub fn nbr(nir: f64, swir2: f64) -> Option<f64> {
    normalized_difference(nir, swir2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vegetation_is_positive_and_water_negative() {
        // Dense vegetation: low red, high nir.
        let veg = ndvi(400.0, 3500.0).unwrap();
        assert!((veg - 3100.0 / 3900.0).abs() < 1e-12);
        // Water: nir below red.
        assert!(ndvi(600.0, 200.0).unwrap() < 0.0);
        // Burn scar: swir2 above nir.
        assert!(nbr(1200.0, 2000.0).unwrap() < 0.0);
    }

    #[test]
    fn fill_nan_and_zero_sum_are_missing() {
        assert_eq!(ndvi(-9999.0, 3000.0), None);
        assert_eq!(ndvi(300.0, f64::NAN), None);
        assert_eq!(normalized_difference(0.0, 0.0), None);
    }
}
