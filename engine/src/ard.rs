//! Landsat Analysis Ready Data (Collection 1, CONUS) naming: sensors, bands, tiles and file names.
//!
//! ARD ships one GeoTIFF per band per acquisition, named like
//! `LC08_CU_003008_20130411_20181202_C01_V01_SRB2.tif`: sensor, region, tile (hhhvvv), acquisition
//! date, production date, collection, version and a layer suffix. The suffix of a band depends on
//! the sensor (blue is `SRB1` on Landsat 4-7 but `SRB2` on Landsat 8).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

/// A band of an ARD stack, in the order pyccd takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Band {
    Blue,
    Green,
    Red,
    Nir,
    Swir1,
    Swir2,
    Thermal,
    Qa,
}

impl Band {
    /// Every band, in column order.
    pub const ALL: [Band; 8] = [
        Band::Blue,
        Band::Green,
        Band::Red,
        Band::Nir,
        Band::Swir1,
        Band::Swir2,
        Band::Thermal,
        Band::Qa,
    ];

    /// The column name of the band.
    pub fn name(self) -> &'static str {
        match self {
            Band::Blue => "blue",
            Band::Green => "green",
            Band::Red => "red",
            Band::Nir => "nir",
            Band::Swir1 => "swir1",
            Band::Swir2 => "swir2",
            Band::Thermal => "thermal",
            Band::Qa => "qa",
        }
    }

    /// The quality band holds UInt16 bit flags; every other band Int16 values.
    pub fn is_qa(self) -> bool {
        self == Band::Qa
    }

    /// The value of a pixel with no data in this band.
    pub fn fill(self) -> i32 {
        if self.is_qa() {
            1 // pixel_qa bit 0: fill
        } else {
            i32::from(ardent_udfs::kernels::FILL)
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A band, tile or ARD file name that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error(
        "unknown band '{0}': expected one of blue, green, red, nir, swir1, swir2, thermal, qa"
    )]
    Band(String),
    #[error("invalid tile id '{0}': expected the form h003v008")]
    Tile(String),
    #[error("unparsable {what} date '{text}' in ARD file name '{file}'")]
    Date {
        what: &'static str,
        text: String,
        file: String,
    },
}

impl FromStr for Band {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Band::ALL
            .into_iter()
            .find(|b| b.name() == lower)
            .ok_or_else(|| NameError::Band(s.to_string()))
    }
}

/// A Landsat sensor as named in ARD file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sensor {
    /// Landsat 4 TM.
    Lt04,
    /// Landsat 5 TM.
    Lt05,
    /// Landsat 7 ETM+.
    Le07,
    /// Landsat 8 OLI/TIRS.
    Lc08,
}

impl Sensor {
    pub const ALL: [Sensor; 4] = [Sensor::Lt04, Sensor::Lt05, Sensor::Le07, Sensor::Lc08];

    /// The code used in file names, e.g. `LC08`.
    pub fn code(self) -> &'static str {
        match self {
            Sensor::Lt04 => "LT04",
            Sensor::Lt05 => "LT05",
            Sensor::Le07 => "LE07",
            Sensor::Lc08 => "LC08",
        }
    }

    pub fn from_code(code: &str) -> Option<Sensor> {
        Sensor::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The file-name suffix of a band on this sensor.
    pub fn band_suffix(self, band: Band) -> &'static str {
        let landsat8 = self == Sensor::Lc08;
        match (band, landsat8) {
            (Band::Blue, false) => "SRB1",
            (Band::Green, false) => "SRB2",
            (Band::Red, false) => "SRB3",
            (Band::Nir, false) => "SRB4",
            (Band::Swir1, false) => "SRB5",
            (Band::Swir2, false) => "SRB7",
            (Band::Thermal, false) => "BTB6",
            (Band::Blue, true) => "SRB2",
            (Band::Green, true) => "SRB3",
            (Band::Red, true) => "SRB4",
            (Band::Nir, true) => "SRB5",
            (Band::Swir1, true) => "SRB6",
            (Band::Swir2, true) => "SRB7",
            (Band::Thermal, true) => "BTB10",
            (Band::Qa, _) => "PIXELQA",
        }
    }

    /// The band a file-name suffix names on this sensor; `None` for layers that are not one of
    /// ardent's bands (ARD also ships e.g. `SRAEROSOLQA`, `LINEAGEQA`, `SRB1` coastal on Landsat 8).
    pub fn band_of_suffix(self, suffix: &str) -> Option<Band> {
        Band::ALL
            .into_iter()
            .find(|&b| self.band_suffix(b) == suffix)
    }

    /// The first and last day this sensor acquired images, for realistic synthetic stacks.
    pub fn mission(self) -> (NaiveDate, NaiveDate) {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid mission date");
        match self {
            Sensor::Lt04 => (d(1982, 8, 22), d(1993, 12, 14)),
            Sensor::Lt05 => (d(1984, 3, 16), d(2011, 11, 18)),
            Sensor::Le07 => (d(1999, 5, 28), d(2022, 4, 6)),
            Sensor::Lc08 => (d(2013, 4, 11), d(2100, 1, 1)),
        }
    }
}

impl fmt::Display for Sensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An ARD tile id: horizontal and vertical index on the CONUS grid, written `h003v008`.
/// Serializable for `synth.json`; plans carry tiles by name ([`crate::distributed::wire`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TileId {
    pub h: u16,
    pub v: u16,
}

impl TileId {
    /// The `hhhvvv` form used inside file names.
    pub fn file_code(self) -> String {
        format!("{:03}{:03}", self.h, self.v)
    }

    fn from_file_code(code: &str) -> Option<TileId> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(TileId {
            h: code[..3].parse().ok()?,
            v: code[3..].parse().ok()?,
        })
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h{:03}v{:03}", self.h, self.v)
    }
}

impl FromStr for TileId {
    type Err = NameError;

    /// Accepts `h003v008`, `h3v8` and the file-name form `003008`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || NameError::Tile(s.to_string());
        let lower = s.trim().to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix('h') {
            let (h, v) = rest.split_once('v').ok_or_else(bad)?;
            return Ok(TileId {
                h: h.parse().map_err(|_| bad())?,
                v: v.parse().map_err(|_| bad())?,
            });
        }
        TileId::from_file_code(&lower).ok_or_else(bad)
    }
}

/// The parts of an ARD file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArdName {
    pub sensor: Sensor,
    pub tile: TileId,
    pub acquired: NaiveDate,
    pub produced: NaiveDate,
    /// `None` for ARD layers that are not one of ardent's bands.
    pub band: Option<Band>,
}

impl ArdName {
    /// Parses an ARD file name (no directory). `Ok(None)` if the name is not an ARD GeoTIFF name at
    /// all; an error if it looks like one but a part is malformed, such as an impossible date.
    pub fn parse(file_name: &str) -> Result<Option<ArdName>, NameError> {
        let Some(stem) = file_name
            .strip_suffix(".tif")
            .or_else(|| file_name.strip_suffix(".TIF"))
        else {
            return Ok(None);
        };
        let parts: Vec<&str> = stem.split('_').collect();
        let [sensor, "CU", tile, acquired, produced, _collection, _version, suffix] = parts[..]
        else {
            return Ok(None);
        };
        let (Some(sensor), Some(tile)) = (Sensor::from_code(sensor), TileId::from_file_code(tile))
        else {
            return Ok(None);
        };
        let date = |what: &'static str, text: &str| {
            NaiveDate::parse_from_str(text, "%Y%m%d").map_err(|_| NameError::Date {
                what,
                text: text.to_string(),
                file: file_name.to_string(),
            })
        };
        Ok(Some(ArdName {
            sensor,
            tile,
            acquired: date("acquisition", acquired)?,
            produced: date("production", produced)?,
            band: sensor.band_of_suffix(suffix),
        }))
    }

    /// The ARD file name for a band of an acquisition.
    pub fn file_name(
        sensor: Sensor,
        tile: TileId,
        acquired: NaiveDate,
        produced: NaiveDate,
        band: Band,
    ) -> String {
        format!(
            "{}_CU_{}_{}_{}_C01_V01_{}.tif",
            sensor.code(),
            tile.file_code(),
            acquired.format("%Y%m%d"),
            produced.format("%Y%m%d"),
            sensor.band_suffix(band)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_file_names() {
        let tile: TileId = "h003v008".parse().unwrap();
        let acquired = NaiveDate::from_ymd_opt(2013, 4, 11).unwrap();
        let produced = NaiveDate::from_ymd_opt(2018, 12, 2).unwrap();
        let name = ArdName::file_name(Sensor::Lc08, tile, acquired, produced, Band::Blue);
        assert_eq!(name, "LC08_CU_003008_20130411_20181202_C01_V01_SRB2.tif");
        let parsed = ArdName::parse(&name).unwrap().unwrap();
        assert_eq!(parsed.band, Some(Band::Blue));
        assert_eq!(parsed.tile, tile);
        assert_eq!(parsed.acquired, acquired);
    }

    #[test]
    fn band_suffixes_differ_by_sensor() {
        assert_eq!(Sensor::Le07.band_of_suffix("SRB1"), Some(Band::Blue));
        assert_eq!(Sensor::Lc08.band_of_suffix("SRB1"), None); // coastal aerosol
        assert_eq!(Sensor::Lc08.band_of_suffix("BTB10"), Some(Band::Thermal));
        assert_eq!(Sensor::Lt05.band_of_suffix("PIXELQA"), Some(Band::Qa));
    }

    #[test]
    fn other_files_are_ignored_and_bad_dates_are_errors() {
        assert_eq!(ArdName::parse("truth.csv").unwrap(), None);
        assert_eq!(ArdName::parse("scene.tif").unwrap(), None);
        let err = ArdName::parse("LC08_CU_003008_20131341_20181202_C01_V01_SRB2.tif")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'20131341'") && err.contains("LC08_CU_003008"),
            "{err}"
        );
    }

    #[test]
    fn tile_ids() {
        assert_eq!("h3v8".parse::<TileId>().unwrap().to_string(), "h003v008");
        assert_eq!("003008".parse::<TileId>().unwrap(), TileId { h: 3, v: 8 });
        assert!("x3"
            .parse::<TileId>()
            .unwrap_err()
            .to_string()
            .contains("'x3'"));
        let err = "purple".parse::<Band>().unwrap_err().to_string();
        let names: Vec<&str> = Band::ALL.iter().map(|b| b.name()).collect();
        assert!(
            err.ends_with(&names.join(", ")),
            "every band, in order: {err}"
        );
    }
}
