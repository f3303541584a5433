//! Landsat Analysis Ready Data (CONUS) naming and coding: collections, sensors, bands, tiles and
//! file names.
//!
//! ARD ships one GeoTIFF per band per acquisition. Collection 1 names them like
//! `LC08_CU_003008_20130411_20181202_C01_V01_SRB2.tif` (sensor, region, tile hhhvvv, acquisition
//! date, production date, collection, version, layer); Collection 2, the live product since
//! Collection 1 ended in 2021, like `LC09_CU_003004_20230909_20230914_02_SR_B2.TIF` (a cloud
//! optimized GeoTIFF). The layer of a band depends on the sensor: blue is band 1 on Landsat 4-7
//! but band 2 on Landsat 8-9.
//!
//! The two collections code values differently (USGS's product guides): Collection 1 stores
//! reflectance x 10000 and brightness temperature in K x 10 as Int16 with fill -9999;
//! Collection 2 stores UInt16 digital numbers with fill 0, reflectance = DN x 0.0000275 - 0.2 and
//! temperature = DN x 0.00341802 + 149 K. Tables show both in Collection 1's units, the units
//! pyccd expects (as pyxccd rescales Collection 2), so every function serves both
//! ([`Collection::decode`]).

use std::fmt;
use std::str::FromStr;

use ardent_udfs::kernels::qa::QaScheme;
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
    #[error("unknown collection '{0}': expected 'c1' or 'c2'")]
    Collection(String),
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

/// A Landsat ARD collection: how files are named and values coded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    /// Collection 1 (produced until the end of 2021; LCMAP's input).
    #[default]
    C1,
    /// Collection 2, cloud optimized GeoTIFFs.
    C2,
}

/// Collection 2's scale and offset from digital numbers to Collection 1's units: reflectance
/// (DN x 0.0000275 - 0.2) x 10000 and temperature (DN x 0.00341802 + 149 K) x 10.
const C2_REFLECTANCE: (f64, f64) = (0.275, -2000.0);
const C2_TEMPERATURE: (f64, f64) = (0.0341802, 1490.0);

impl Collection {
    pub const ALL: [Collection; 2] = [Collection::C1, Collection::C2];

    /// `c1` or `c2`, as options and manifests write it.
    pub fn name(self) -> &'static str {
        match self {
            Collection::C1 => "c1",
            Collection::C2 => "c2",
        }
    }

    /// The QA scheme of this collection's quality band.
    pub fn qa_scheme(self) -> QaScheme {
        match self {
            Collection::C1 => QaScheme::C1,
            Collection::C2 => QaScheme::C2,
        }
    }

    /// Whether `sensor` has products in this collection (Landsat 9 came after Collection 1).
    pub fn has(self, sensor: Sensor) -> bool {
        self == Collection::C2 || sensor != Sensor::Lc09
    }

    /// Whether a non-QA band is stored as digital numbers to decode (UInt16) rather than in
    /// table units (Int16).
    pub fn stores_digital_numbers(self) -> bool {
        self == Collection::C2
    }

    /// A stored value of a non-QA band in table units (reflectance x 10000, temperature K x 10,
    /// fill [`Band::fill`]), rounded; values beyond Int16 saturate. Collection 1 values pass as
    /// they are.
    ///
    /// ```
    /// use ardent_engine::ard::{Band, Collection};
    /// assert_eq!(Collection::C2.decode(Band::Red, 7273), 0); // 7273 x 0.0000275 - 0.2 = 0.0000075
    /// assert_eq!(Collection::C2.decode(Band::Thermal, 41253), 2900); // 290.0 K
    /// assert_eq!(Collection::C2.decode(Band::Red, 0), -9999); // fill
    /// ```
    pub fn decode(self, band: Band, stored: u16) -> i16 {
        match self {
            Collection::C1 => stored as i16,
            Collection::C2 if stored == 0 => band.fill() as i16,
            Collection::C2 => {
                let (scale, offset) = c2_scaling(band);
                (f64::from(stored) * scale + offset).round() as i16
            }
        }
    }

    /// The stored value that [`Collection::decode`] turns into `value` (for writing stacks);
    /// values the collection cannot hold saturate at its range, never at its fill.
    pub fn encode(self, band: Band, value: i16) -> u16 {
        match self {
            Collection::C1 => value as u16,
            Collection::C2 if i32::from(value) == band.fill() => 0,
            Collection::C2 => {
                let (scale, offset) = c2_scaling(band);
                ((f64::from(value) - offset) / scale)
                    .round()
                    .clamp(1.0, f64::from(u16::MAX)) as u16
            }
        }
    }
}

fn c2_scaling(band: Band) -> (f64, f64) {
    if band == Band::Thermal {
        C2_TEMPERATURE
    } else {
        C2_REFLECTANCE
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Collection {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Collection::ALL
            .into_iter()
            .find(|c| c.name() == lower)
            .ok_or_else(|| NameError::Collection(s.to_string()))
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
    /// Landsat 9 OLI-2/TIRS-2 (Collection 2 only).
    Lc09,
}

impl Sensor {
    pub const ALL: [Sensor; 5] = [
        Sensor::Lt04,
        Sensor::Lt05,
        Sensor::Le07,
        Sensor::Lc08,
        Sensor::Lc09,
    ];

    /// The code used in file names, e.g. `LC08`.
    pub fn code(self) -> &'static str {
        match self {
            Sensor::Lt04 => "LT04",
            Sensor::Lt05 => "LT05",
            Sensor::Le07 => "LE07",
            Sensor::Lc08 => "LC08",
            Sensor::Lc09 => "LC09",
        }
    }

    pub fn from_code(code: &str) -> Option<Sensor> {
        Sensor::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The file-name suffix of a band on this sensor in `collection`: `SRB2` or `SR_B2`,
    /// `BTB10` or `BT_B10`, `PIXELQA` or `QA_PIXEL`.
    pub fn band_suffix(self, band: Band, collection: Collection) -> &'static str {
        let oli = matches!(self, Sensor::Lc08 | Sensor::Lc09);
        let c2 = collection == Collection::C2;
        match (band, oli, c2) {
            (Band::Blue, false, false) => "SRB1",
            (Band::Green, false, false) | (Band::Blue, true, false) => "SRB2",
            (Band::Red, false, false) | (Band::Green, true, false) => "SRB3",
            (Band::Nir, false, false) | (Band::Red, true, false) => "SRB4",
            (Band::Swir1, false, false) | (Band::Nir, true, false) => "SRB5",
            (Band::Swir1, true, false) => "SRB6",
            (Band::Swir2, _, false) => "SRB7",
            (Band::Thermal, false, false) => "BTB6",
            (Band::Thermal, true, false) => "BTB10",
            (Band::Qa, _, false) => "PIXELQA",
            (Band::Blue, false, true) => "SR_B1",
            (Band::Green, false, true) | (Band::Blue, true, true) => "SR_B2",
            (Band::Red, false, true) | (Band::Green, true, true) => "SR_B3",
            (Band::Nir, false, true) | (Band::Red, true, true) => "SR_B4",
            (Band::Swir1, false, true) | (Band::Nir, true, true) => "SR_B5",
            (Band::Swir1, true, true) => "SR_B6",
            (Band::Swir2, _, true) => "SR_B7",
            (Band::Thermal, false, true) => "BT_B6",
            (Band::Thermal, true, true) => "BT_B10",
            (Band::Qa, _, true) => "QA_PIXEL",
        }
    }

    /// The band a file-name suffix names on this sensor; `None` for layers that are not one of
    /// ardent's bands (ARD also ships e.g. `SRAEROSOLQA`, `LINEAGEQA`, `SR_QA_AEROSOL`, band 1
    /// coastal aerosol on Landsat 8-9).
    pub fn band_of_suffix(self, suffix: &str, collection: Collection) -> Option<Band> {
        Band::ALL
            .into_iter()
            .find(|&b| self.band_suffix(b, collection) == suffix)
    }

    /// The first and last day this sensor acquired images, for realistic synthetic stacks.
    pub fn mission(self) -> (NaiveDate, NaiveDate) {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid mission date");
        match self {
            Sensor::Lt04 => (d(1982, 8, 22), d(1993, 12, 14)),
            Sensor::Lt05 => (d(1984, 3, 16), d(2011, 11, 18)),
            Sensor::Le07 => (d(1999, 5, 28), d(2022, 4, 6)),
            Sensor::Lc08 => (d(2013, 4, 11), d(2100, 1, 1)),
            Sensor::Lc09 => (d(2021, 10, 31), d(2100, 1, 1)),
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
    pub collection: Collection,
    pub sensor: Sensor,
    pub tile: TileId,
    pub acquired: NaiveDate,
    pub produced: NaiveDate,
    /// `None` for ARD layers that are not one of ardent's bands.
    pub band: Option<Band>,
}

impl ArdName {
    /// Parses an ARD file name of either collection (no directory). `Ok(None)` if the name is not
    /// an ARD GeoTIFF name at all; an error if it looks like one but a part is malformed, such as
    /// an impossible date.
    pub fn parse(file_name: &str) -> Result<Option<ArdName>, NameError> {
        let Some(stem) = file_name
            .strip_suffix(".tif")
            .or_else(|| file_name.strip_suffix(".TIF"))
        else {
            return Ok(None);
        };
        let parts: Vec<&str> = stem.split('_').collect();
        // C1: ..._C01_V01_SRB2; C2: ..._02_SR_B2 (the layer holds underscores).
        let (collection, sensor, tile, acquired, produced, suffix) = match parts[..] {
            [sensor, "CU", tile, acquired, produced, "C01", _version, suffix] => (
                Collection::C1,
                sensor,
                tile,
                acquired,
                produced,
                suffix.to_string(),
            ),
            [sensor, "CU", tile, acquired, produced, "02", ref layer @ ..] if !layer.is_empty() => {
                (
                    Collection::C2,
                    sensor,
                    tile,
                    acquired,
                    produced,
                    layer.join("_"),
                )
            }
            _ => return Ok(None),
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
            collection,
            sensor,
            tile,
            acquired: date("acquisition", acquired)?,
            produced: date("production", produced)?,
            band: sensor.band_of_suffix(&suffix, collection),
        }))
    }

    /// The ARD file name for a band of an acquisition in `collection`.
    pub fn file_name(
        collection: Collection,
        sensor: Sensor,
        tile: TileId,
        acquired: NaiveDate,
        produced: NaiveDate,
        band: Band,
    ) -> String {
        let (collection_part, extension) = match collection {
            Collection::C1 => ("C01_V01", "tif"),
            Collection::C2 => ("02", "TIF"),
        };
        format!(
            "{}_CU_{}_{}_{}_{collection_part}_{}.{extension}",
            sensor.code(),
            tile.file_code(),
            acquired.format("%Y%m%d"),
            produced.format("%Y%m%d"),
            sensor.band_suffix(band, collection)
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
        let name = ArdName::file_name(
            Collection::C1,
            Sensor::Lc08,
            tile,
            acquired,
            produced,
            Band::Blue,
        );
        assert_eq!(name, "LC08_CU_003008_20130411_20181202_C01_V01_SRB2.tif");
        let parsed = ArdName::parse(&name).unwrap().unwrap();
        assert_eq!(parsed.band, Some(Band::Blue));
        assert_eq!(parsed.tile, tile);
        assert_eq!(parsed.acquired, acquired);
        assert_eq!(parsed.collection, Collection::C1);
    }

    #[test]
    fn parses_collection_2_names() {
        for (name, sensor, band) in [
            (
                "LC09_CU_003004_20230909_20230914_02_SR_B2.TIF",
                Sensor::Lc09,
                Some(Band::Blue),
            ),
            (
                "LC09_CU_003004_20230909_20230914_02_QA_PIXEL.TIF",
                Sensor::Lc09,
                Some(Band::Qa),
            ),
            (
                "LC08_CU_003004_20230901_20230914_02_BT_B10.TIF",
                Sensor::Lc08,
                Some(Band::Thermal),
            ),
            (
                "LE07_CU_003004_20030901_20210914_02_BT_B6.TIF",
                Sensor::Le07,
                Some(Band::Thermal),
            ),
            (
                "LT05_CU_003004_19930901_20210914_02_SR_B7.TIF",
                Sensor::Lt05,
                Some(Band::Swir2),
            ),
            (
                "LT05_CU_003004_19930901_20210914_02_SR_B1.TIF",
                Sensor::Lt05,
                Some(Band::Blue),
            ),
            (
                "LC08_CU_003004_20230901_20230914_02_SR_B1.TIF",
                Sensor::Lc08,
                None,
            ), // coastal
            (
                "LC08_CU_003004_20230901_20230914_02_SR_QA_AEROSOL.TIF",
                Sensor::Lc08,
                None,
            ),
        ] {
            let parsed = ArdName::parse(name).unwrap().unwrap();
            assert_eq!(
                (parsed.collection, parsed.sensor, parsed.band),
                (Collection::C2, sensor, band),
                "{name}"
            );
            if let Some(band) = band {
                let again = ArdName::file_name(
                    Collection::C2,
                    sensor,
                    parsed.tile,
                    parsed.acquired,
                    parsed.produced,
                    band,
                );
                assert_eq!(again, name);
            }
        }
    }

    #[test]
    fn collection_2_values_decode_to_collection_1_units_and_back() {
        let c2 = Collection::C2;
        // The product guide's scaling: 0.0000275 x DN - 0.2, 0.00341802 x DN + 149 K.
        assert_eq!(c2.decode(Band::Nir, 43636), 10000);
        assert_eq!(c2.decode(Band::Thermal, 1), 1490);
        assert_eq!(c2.decode(Band::Qa, 0), 1); // QA fill is bit 0
        assert_eq!(c2.decode(Band::Swir1, 0), -9999);
        let reflectance = [-1999, -100, 0, 1, 437, 3333, 9999, 10000, 16000];
        for (band, values) in [
            (Band::Blue, &reflectance[..]),
            (Band::Swir2, &reflectance[..]),
            (Band::Thermal, &[1491, 2500, 2900, 3333, 3700][..]),
        ] {
            for &value in values {
                assert_eq!(
                    c2.decode(band, c2.encode(band, value)),
                    value,
                    "{band} {value}"
                );
            }
        }
        assert_eq!(c2.encode(Band::Red, -9999), 0);
        assert_eq!(
            c2.encode(Band::Red, -5000),
            1,
            "below the range saturates, not fill"
        );
        assert_eq!(Collection::C1.decode(Band::Red, (-9999i16) as u16), -9999);
    }

    #[test]
    fn band_suffixes_differ_by_sensor_and_collection() {
        let c1 = Collection::C1;
        assert_eq!(Sensor::Le07.band_of_suffix("SRB1", c1), Some(Band::Blue));
        assert_eq!(Sensor::Lc08.band_of_suffix("SRB1", c1), None); // coastal aerosol
        assert_eq!(
            Sensor::Lc08.band_of_suffix("BTB10", c1),
            Some(Band::Thermal)
        );
        assert_eq!(Sensor::Lt05.band_of_suffix("PIXELQA", c1), Some(Band::Qa));
        assert_eq!(Sensor::Lt05.band_of_suffix("QA_PIXEL", c1), None);
        // Every band has its own suffix on every sensor, in both collections.
        for collection in Collection::ALL {
            for sensor in Sensor::ALL {
                for band in Band::ALL {
                    let suffix = sensor.band_suffix(band, collection);
                    assert_eq!(sensor.band_of_suffix(suffix, collection), Some(band));
                }
            }
        }
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
