//! Landsat quality-band decoding, the one decoder that SQL (`qa_class`, `qa_clear`, `composite`)
//! and CCDC share: Collection 1 `pixel_qa` bits, Collection 2 `QA_PIXEL` bits and CFmask codes,
//! each mapped onto one set of classes by one documented rule.
//!
//! | scheme | rule, first match wins |
//! |---|---|
//! | `c1` | bit 0 fill, 5 cloud, 3 shadow, 4 snow, 2 water, 1 clear; else high-confidence cirrus (bits 8 and 9) or terrain occlusion (bit 10) alone count as clear (pyccd's `qabitval`); else unclassified |
//! | `c2` | bit 0 fill, 3 cloud, 4 shadow, 5 snow, 7 water, 6 clear (USGS's own clear flag, which USGS sets when neither cloud nor dilated cloud is); else unclassified. Cirrus (bit 2) and dilated cloud (bit 1) do not change the class |
//! | `c2_strict` | as `c2`, but dilated cloud (bit 1) or cirrus (bit 2) make the observation cloud |
//! | `cfmask` | codes 255 fill, 4 cloud, 2 shadow, 3 snow, 1 water, 0 clear; other codes unclassified |
//!
//! Clear land and clear water are what pyccd counts as clear.

use std::fmt;
use std::str::FromStr;

/// How a quality value is coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QaScheme {
    /// Landsat Collection 1 ARD `pixel_qa` bits (pyccd's default coding).
    C1,
    /// Landsat Collection 2 `QA_PIXEL` bits, as USGS defines them.
    C2,
    /// Collection 2 with the stricter cloud mask: dilated cloud or cirrus count as cloud.
    C2Strict,
    /// CFmask codes, one per observation.
    Cfmask,
}

impl QaScheme {
    /// Every scheme, in the order documentation lists them.
    pub const ALL: [QaScheme; 4] = [
        QaScheme::C1,
        QaScheme::C2,
        QaScheme::C2Strict,
        QaScheme::Cfmask,
    ];

    /// The name used in SQL, CCDC parameters and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            QaScheme::C1 => "c1",
            QaScheme::C2 => "c2",
            QaScheme::C2Strict => "c2_strict",
            QaScheme::Cfmask => "cfmask",
        }
    }
}

impl fmt::Display for QaScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A QA scheme name that is none of [`QaScheme::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown QA scheme '{0}': expected one of 'c1', 'c2', 'c2_strict', 'cfmask'")]
pub struct UnknownQaScheme(pub String);

impl FromStr for QaScheme {
    type Err = UnknownQaScheme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        QaScheme::ALL
            .into_iter()
            .find(|q| q.name() == lower)
            .ok_or(UnknownQaScheme(lower))
    }
}

/// What one observation of one pixel shows, as far as the quality band tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QaClass {
    Fill,
    Cloud,
    Shadow,
    Snow,
    Water,
    Clear,
    /// A value with none of the class flags set.
    Unclassified,
}

impl QaClass {
    /// The lower-case name used in SQL results.
    pub fn as_str(self) -> &'static str {
        match self {
            QaClass::Fill => "fill",
            QaClass::Cloud => "cloud",
            QaClass::Shadow => "shadow",
            QaClass::Snow => "snow",
            QaClass::Water => "water",
            QaClass::Clear => "clear",
            QaClass::Unclassified => "unclassified",
        }
    }

    /// Clear land or clear water: the observations pyccd counts as clear.
    pub fn is_clear(self) -> bool {
        matches!(self, QaClass::Clear | QaClass::Water)
    }
}

impl fmt::Display for QaClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bit offsets of the Collection 1 `pixel_qa` flags. pyccd lets its parameters move them
/// (`QA_FILL`, `QA_CLOUD`, ...), so CCDC decodes with the offsets of its run; SQL uses the USGS
/// layout, [`C1Bits::default`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct C1Bits {
    pub fill: i64,
    pub clear: i64,
    pub water: i64,
    pub shadow: i64,
    pub snow: i64,
    pub cloud: i64,
    pub cirrus1: i64,
    pub cirrus2: i64,
    pub occlusion: i64,
}

impl Default for C1Bits {
    fn default() -> Self {
        Self {
            fill: 0,
            clear: 1,
            water: 2,
            shadow: 3,
            snow: 4,
            cloud: 5,
            cirrus1: 8,
            cirrus2: 9,
            occlusion: 10,
        }
    }
}

#[inline]
fn bit(value: i64, offset: i64) -> bool {
    (0..63).contains(&offset) && value & (1 << offset) != 0
}

/// Classifies a Collection 1 value by the `c1` rule with the given bit offsets.
#[inline]
pub fn classify_c1(value: i64, bits: &C1Bits) -> QaClass {
    if bit(value, bits.fill) {
        QaClass::Fill
    } else if bit(value, bits.cloud) {
        QaClass::Cloud
    } else if bit(value, bits.shadow) {
        QaClass::Shadow
    } else if bit(value, bits.snow) {
        QaClass::Snow
    } else if bit(value, bits.water) {
        QaClass::Water
    } else if bit(value, bits.clear)
        || (bit(value, bits.cirrus1) && bit(value, bits.cirrus2))
        || bit(value, bits.occlusion)
    {
        QaClass::Clear
    } else {
        QaClass::Unclassified
    }
}

/// Classifies one quality value by its scheme's rule (see the module documentation).
///
/// ```
/// use ardent_udfs::kernels::qa::{classify, QaClass, QaScheme};
/// assert_eq!(classify(322, QaScheme::C1), QaClass::Clear); // Landsat 8 clear land
/// assert_eq!(classify(21824, QaScheme::C2), QaClass::Clear);
/// assert_eq!(classify(54596, QaScheme::C2), QaClass::Clear); // clear, with cirrus
/// assert_eq!(classify(54596, QaScheme::C2Strict), QaClass::Cloud);
/// assert_eq!(classify(4, QaScheme::Cfmask), QaClass::Cloud);
/// ```
#[inline]
pub fn classify(qa: u16, scheme: QaScheme) -> QaClass {
    classify_value(i64::from(qa), scheme, &C1Bits::default())
}

/// [`classify`] over a wider value (CCDC takes pyccd's integers), with the Collection 1 bit
/// offsets of a pyccd run.
#[inline]
pub fn classify_value(value: i64, scheme: QaScheme, c1: &C1Bits) -> QaClass {
    let flag = |n| bit(value, n);
    match scheme {
        QaScheme::C1 => classify_c1(value, c1),
        QaScheme::C2 | QaScheme::C2Strict => {
            let strict = scheme == QaScheme::C2Strict && (flag(1) || flag(2));
            if flag(0) {
                QaClass::Fill
            } else if flag(3) || strict {
                QaClass::Cloud
            } else if flag(4) {
                QaClass::Shadow
            } else if flag(5) {
                QaClass::Snow
            } else if flag(7) {
                QaClass::Water
            } else if flag(6) {
                QaClass::Clear
            } else {
                QaClass::Unclassified
            }
        }
        QaScheme::Cfmask => match value {
            0 => QaClass::Clear,
            1 => QaClass::Water,
            2 => QaClass::Shadow,
            3 => QaClass::Snow,
            4 => QaClass::Cloud,
            255 => QaClass::Fill,
            _ => QaClass::Unclassified,
        },
    }
}

/// Whether an observation is clear land or clear water.
#[inline]
pub fn is_clear(qa: u16, scheme: QaScheme) -> bool {
    classify(qa, scheme).is_clear()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(scheme: QaScheme, cases: &[(u16, QaClass)]) {
        for &(qa, class) in cases {
            assert_eq!(classify(qa, scheme), class, "{scheme} value {qa}");
        }
    }

    #[test]
    fn collection1_values_seen_in_ard() {
        // Landsat 8 and Landsat 4-7 values from the ARD product guide, and pyccd's extra rules.
        pin(
            QaScheme::C1,
            &[
                (1, QaClass::Fill),
                (322, QaClass::Clear),
                (66, QaClass::Clear),
                (324, QaClass::Water),
                (68, QaClass::Water),
                (328, QaClass::Shadow),
                (72, QaClass::Shadow),
                (336, QaClass::Snow),
                (80, QaClass::Snow),
                (352, QaClass::Cloud),
                (480, QaClass::Cloud),
                (224, QaClass::Cloud),
                ((1 << 8) | (1 << 9), QaClass::Clear), // high-confidence cirrus alone
                (1 << 8, QaClass::Unclassified),       // low-confidence cirrus alone
                (1 << 10, QaClass::Clear),             // terrain occlusion alone
                (0, QaClass::Unclassified),
            ],
        );
    }

    #[test]
    fn collection1_bits_move_with_pyccd_parameters() {
        let bits = C1Bits {
            cloud: 7,
            ..C1Bits::default()
        };
        assert_eq!(classify_c1(1 << 7, &bits), QaClass::Cloud);
        assert_eq!(classify_c1(1 << 5, &bits), QaClass::Unclassified);
    }

    #[test]
    fn collection2_every_flag() {
        let c2 = [
            (1, QaClass::Fill),
            (21824, QaClass::Clear),         // clear, low confidences
            (21952, QaClass::Water),         // water + clear
            (22280, QaClass::Cloud),         // cloud + dilated cloud
            (55052, QaClass::Cloud),         // cloud + cirrus
            (23888, QaClass::Shadow),        // shadow
            (30048, QaClass::Snow),          // snow
            (54596, QaClass::Clear),         // clear, with cirrus
            (1 << 1, QaClass::Unclassified), // dilated cloud alone: USGS does not call it clear
            (1 << 2, QaClass::Unclassified), // cirrus without the clear flag
            (0, QaClass::Unclassified),
        ];
        pin(QaScheme::C2, &c2);
        let strict: Vec<(u16, QaClass)> = c2
            .iter()
            .map(|&(qa, class)| match qa {
                54596 | 2 | 4 => (qa, QaClass::Cloud),
                _ => (qa, class),
            })
            .collect();
        pin(QaScheme::C2Strict, &strict);
        // Fill wins over everything, also in the strict mask.
        pin(QaScheme::C2Strict, &[(1 | (1 << 2), QaClass::Fill)]);
    }

    #[test]
    fn cfmask_codes() {
        pin(
            QaScheme::Cfmask,
            &[
                (0, QaClass::Clear),
                (1, QaClass::Water),
                (2, QaClass::Shadow),
                (3, QaClass::Snow),
                (4, QaClass::Cloud),
                (255, QaClass::Fill),
                (7, QaClass::Unclassified),
            ],
        );
        assert!(is_clear(1, QaScheme::Cfmask));
        assert!(!is_clear(3, QaScheme::Cfmask));
    }

    #[test]
    fn scheme_names_round_trip() {
        for scheme in QaScheme::ALL {
            assert_eq!(scheme.name().parse::<QaScheme>(), Ok(scheme));
        }
        assert_eq!("C1".parse::<QaScheme>(), Ok(QaScheme::C1));
        let err = "c3".parse::<QaScheme>().unwrap_err().to_string();
        assert!(err.contains("'c3'") && err.contains("cfmask"), "{err}");
    }
}
