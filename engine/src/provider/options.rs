//! The options of a RASTER table, as given in `OPTIONS (...)`, table-function arguments or the
//! Rust API.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::ard::Band;
use crate::catalog::{date32, Selection};
use crate::error::OptionError;
use crate::location::S3Options;

/// The shape of the rows a raster table yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// One row per pixel, with List columns holding its time series (for per-pixel models).
    #[default]
    Pixels,
    /// One row per pixel and acquisition, with scalar band columns (for plain SQL).
    Observations,
}

impl FromStr for Layout {
    type Err = OptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pixels" => Ok(Layout::Pixels),
            "observations" => Ok(Layout::Observations),
            other => Err(OptionError::InvalidValue {
                option: "layout".into(),
                value: other.into(),
                expected: "'pixels' or 'observations'",
            }),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Pixels => "pixels",
            Layout::Observations => "observations",
        })
    }
}

/// Options of a raster table. Every field has a sensible default.
#[derive(Clone, Debug, PartialEq)]
pub struct RasterOptions {
    pub layout: Layout,
    /// Side of a chip in pixels (LCMAP: 100).
    pub chip_size: usize,
    /// Chips per partition; by default the chips are spread over the session's target partitions.
    pub chips_per_partition: Option<usize>,
    /// Pixels per record batch in the `pixels` layout (rows of a chip are read together up to this).
    pub batch_pixels: usize,
    /// Bands to expose; all bands of the stack by default.
    pub bands: Option<Vec<Band>>,
    /// First and last acquisition date to include (Date32 days, inclusive).
    pub start: Option<i32>,
    pub end: Option<i32>,
    /// A manifest file under the location, for stacks not named like ARD.
    pub manifest: Option<String>,
    pub s3: S3Options,
}

impl Default for RasterOptions {
    fn default() -> Self {
        Self {
            layout: Layout::Pixels,
            chip_size: 100,
            chips_per_partition: None,
            batch_pixels: 1000,
            bands: None,
            start: None,
            end: None,
            manifest: None,
            s3: S3Options::default(),
        }
    }
}

/// Every option key, for error messages and docs.
pub const OPTION_KEYS: [&str; 8] = [
    "layout",
    "chip_size",
    "chips_per_partition",
    "batch_pixels",
    "bands",
    "start",
    "end",
    "manifest",
];

impl RasterOptions {
    /// The part of the stack the table reads: its bands and dates.
    pub fn selection(&self) -> Selection {
        Selection {
            bands: self.bands.clone(),
            start: self.start,
            end: self.end,
        }
    }

    /// Parses options from key/value pairs. Keys are case-insensitive; DataFusion's `format.`
    /// prefix (added to un-namespaced keys of `CREATE EXTERNAL TABLE`) is accepted.
    ///
    /// ```
    /// use ardent_engine::provider::{Layout, RasterOptions};
    /// let o = RasterOptions::from_pairs([("layout", "observations"), ("chip_size", "50")]).unwrap();
    /// assert_eq!((o.layout, o.chip_size), (Layout::Observations, 50));
    /// let err = RasterOptions::from_pairs([("colour", "red")]).unwrap_err();
    /// assert!(err.to_string().contains("'colour'"));
    /// ```
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, OptionError> {
        let mut options = RasterOptions::default();
        for (key, value) in pairs {
            let key = key.as_ref().to_ascii_lowercase();
            let key = key.strip_prefix("format.").unwrap_or(&key);
            options.set(key, value.as_ref().trim())?;
        }
        Ok(options)
    }

    /// Parses options from a map such as `CreateExternalTable::options`.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, OptionError> {
        let mut pairs: Vec<_> = map.iter().collect();
        pairs.sort(); // deterministic: the first bad option in key order is reported
        Self::from_pairs(pairs)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), OptionError> {
        let invalid = |expected| OptionError::InvalidValue {
            option: key.to_string(),
            value: value.to_string(),
            expected,
        };
        let positive = || -> Result<usize, OptionError> {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("a positive integer"))
        };
        let date = || -> Result<Option<i32>, OptionError> {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| Some(date32(d)))
                .map_err(|_| invalid("a date YYYY-MM-DD"))
        };
        match key {
            "layout" => self.layout = value.parse()?,
            "chip_size" => self.chip_size = positive()?,
            "chips_per_partition" => self.chips_per_partition = Some(positive()?),
            "batch_pixels" => self.batch_pixels = positive()?,
            "bands" => {
                let bands = value
                    .split(',')
                    .map(|b| {
                        b.parse::<Band>().map_err(|e| OptionError::Band {
                            option: key.to_string(),
                            message: e.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.bands = Some(bands);
            }
            "start" => self.start = date()?,
            "end" => self.end = date()?,
            "manifest" => self.manifest = Some(value.to_string()),
            _ if self.s3.set(key, value)? => {}
            _ => {
                return Err(OptionError::Unknown {
                    key: key.to_string(),
                    valid: format!("{}, {}", OPTION_KEYS.join(", "), S3Options::KEYS.join(", ")),
                })
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_create_external_table_keys() {
        let map: HashMap<String, String> = [
            ("format.layout", "Observations"),
            ("format.bands", "red, nir"),
            ("format.start", "2015-01-01"),
            ("aws.endpoint", "http://127.0.0.1:9000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let o = RasterOptions::from_map(&map).unwrap();
        assert_eq!(o.layout, Layout::Observations);
        assert_eq!(o.bands, Some(vec![Band::Red, Band::Nir]));
        assert_eq!(
            o.start,
            Some(date32(NaiveDate::from_ymd_opt(2015, 1, 1).unwrap()))
        );
        assert_eq!(o.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    }

    #[test]
    fn bad_values_name_the_option() {
        for (key, value, expected) in [
            ("chip_size", "0", "'chip_size'"),
            ("layout", "cubes", "'layout'"),
            ("bands", "red,purple", "'purple'"),
            ("end", "2015-13-01", "'end'"),
        ] {
            let err = RasterOptions::from_pairs([(key, value)])
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{key}: {err}");
        }
    }
}
