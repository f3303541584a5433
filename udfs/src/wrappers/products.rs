//! `sctime`, `scmag`, `sclast`, `scstab` and `scmqa`: LCMAP's change products of a pixel's CCDC
//! segments at a date.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float32Array, ListArray, StructArray, UInt16Array, UInt8Array,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::{exec_datafusion_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{row_ranges, DOC_SECTION};
use crate::kernels::ccdc::ORDINAL_OF_UNIX_EPOCH;
use crate::kernels::products::{change_products, july_first, ChangeProducts, Segment};

/// One of the five change products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeProduct {
    Sctime,
    Scmag,
    Sclast,
    Scstab,
    Scmqa,
}

impl ChangeProduct {
    pub const ALL: [ChangeProduct; 5] = [
        ChangeProduct::Sctime,
        ChangeProduct::Scmag,
        ChangeProduct::Sclast,
        ChangeProduct::Scstab,
        ChangeProduct::Scmqa,
    ];

    /// The SQL function's name, LCMAP's abbreviation in lower case.
    pub fn name(self) -> &'static str {
        match self {
            ChangeProduct::Sctime => "sctime",
            ChangeProduct::Scmag => "scmag",
            ChangeProduct::Sclast => "sclast",
            ChangeProduct::Scstab => "scstab",
            ChangeProduct::Scmqa => "scmqa",
        }
    }

    /// LCMAP's data type of the product.
    pub fn data_type(self) -> DataType {
        match self {
            ChangeProduct::Scmag => DataType::Float32,
            ChangeProduct::Scmqa => DataType::UInt8,
            _ => DataType::UInt16,
        }
    }

    fn description(self) -> &'static str {
        match self {
            ChangeProduct::Sctime => {
                "SCTIME, time of spectral change: the day of year of a break (change probability \
                 1) in the query date's calendar year, the latest if several; else 0."
            }
            ChangeProduct::Scmag => {
                "SCMAG, change magnitude: the Euclidean norm of the green, red, nir, swir1 and \
                 swir2 magnitudes of a break in the query date's year, the largest if several; \
                 else 0."
            }
            ChangeProduct::Sclast => {
                "SCLAST, time since last change: days from the most recent break on or before \
                 the query date; 0 if none."
            }
            ChangeProduct::Scstab => {
                "SCSTAB, spectral stability period: days since the covering segment started, or \
                 since the last segment ended; days since 1982-01-01 before every segment."
            }
            ChangeProduct::Scmqa => {
                "SCMQA, model quality: the curve QA of the segment covering the query date \
                 (4, 6, 8 coefficients; 14 start fit; 24 end fit; 44 insufficient clear; 54 \
                 persistent snow); 0 if none."
            }
        }
    }
}

static DOCS: LazyLock<Vec<Documentation>> = LazyLock::new(|| {
    ChangeProduct::ALL
        .iter()
        .map(|p| {
            Documentation::builder(
                DOC_SECTION,
                format!(
                    "{} As lcmap-gaia computes it; LCMAP's products use July 1 of each year.",
                    p.description()
                ),
                format!("{}(segments, when)", p.name()),
            )
            .with_sql_example(format!(
                "SELECT px, py, {}(r, 2015) FROM (SELECT px, py, ccdc(dates, blue, green, red, \
                 nir, swir1, swir2, thermal, qa) AS r FROM raster_pixels('/data/h003v008'))",
                p.name()
            ))
            .with_argument("segments", "A ccdc result, or its change_models list.")
            .with_argument("when", "A year (July 1 of it, as LCMAP does) or a date.")
            .build()
        })
        .collect()
});

/// A change product of CCDC segments at a date: `sctime(segments, when)` and its four siblings.
/// `segments` is a `ccdc` result or its `change_models`; `when` is a year (meaning July 1) or a
/// date. A null result or date gives null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChangeProductUdf {
    product: ChangeProduct,
    signature: Signature,
}

impl ChangeProductUdf {
    pub fn new(product: ChangeProduct) -> Self {
        Self {
            product,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The `change_models` list of a `ccdc` result, or the argument itself if it is that list.
fn change_models(array: &ArrayRef) -> Result<&ListArray> {
    let list = match array.data_type() {
        DataType::Struct(_) => array.as_struct().column_by_name("change_models"),
        _ => Some(array),
    };
    list.and_then(|l| l.as_list_opt::<i32>())
        .ok_or_else(|| exec_datafusion_err!("not a ccdc result or change_models list"))
}

/// The segments of each row: the fields of the `change_models` structs the products need.
struct Segments<'a> {
    list: &'a ListArray,
    days: [&'a datafusion::arrow::array::Date32Array; 3],
    probability: &'a datafusion::arrow::array::Float64Array,
    curve_qa: &'a datafusion::arrow::array::Int32Array,
    magnitudes: [&'a datafusion::arrow::array::Float64Array; 5],
}

impl<'a> Segments<'a> {
    fn new(function: &str, list: &'a ListArray) -> Result<Self> {
        let models = list.values().as_struct_opt().ok_or_else(|| {
            exec_datafusion_err!("{function}: change_models must be a list of structs")
        })?;
        let field = |name: &str| {
            models
                .column_by_name(name)
                .ok_or_else(|| exec_datafusion_err!("{function}: segments have no '{name}' field"))
        };
        let date = |name| {
            field(name)?
                .as_primitive_opt::<Date32Type>()
                .ok_or_else(|| {
                    exec_datafusion_err!("{function}: segment field '{name}' must be a date")
                })
        };
        let magnitude = |band: &str| -> Result<_> {
            let band_struct: &StructArray = field(band)?.as_struct_opt().ok_or_else(|| {
                exec_datafusion_err!("{function}: segment field '{band}' must be a struct")
            })?;
            band_struct
                .column_by_name("magnitude")
                .and_then(|m| m.as_primitive_opt::<Float64Type>())
                .ok_or_else(|| exec_datafusion_err!("{function}: '{band}' has no magnitude"))
        };
        Ok(Self {
            list,
            days: [date("start_day")?, date("end_day")?, date("break_day")?],
            probability: field("change_probability")?
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| exec_datafusion_err!("{function}: bad change_probability"))?,
            curve_qa: field("curve_qa")?
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| exec_datafusion_err!("{function}: bad curve_qa"))?,
            magnitudes: [
                magnitude("green")?,
                magnitude("red")?,
                magnitude("nir")?,
                magnitude("swir1")?,
                magnitude("swir2")?,
            ],
        })
    }

    /// The segments of every row, `None` for a null row.
    fn rows(&self) -> impl Iterator<Item = Option<Vec<Segment>>> + '_ {
        row_ranges(self.list).map(move |range| {
            range.map(|range| {
                range
                    .map(|k| {
                        let ordinal = |a: &datafusion::arrow::array::Date32Array| {
                            i64::from(a.value(k)) + ORDINAL_OF_UNIX_EPOCH
                        };
                        Segment {
                            start_day: ordinal(self.days[0]),
                            end_day: ordinal(self.days[1]),
                            break_day: ordinal(self.days[2]),
                            change_probability: self.probability.value(k),
                            curve_qa: i64::from(self.curve_qa.value(k)),
                            magnitudes: std::array::from_fn(|b| self.magnitudes[b].value(k)),
                        }
                    })
                    .collect()
            })
        })
    }
}

impl ScalarUDFImpl for ChangeProductUdf {
    fn name(&self) -> &str {
        self.product.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCS[self.product as usize])
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let [segments, when] = arg_types else {
            return plan_err!(
                "{name} takes 2 arguments (segments, when), got {}",
                arg_types.len()
            );
        };
        let is_models = |dt: &DataType| matches!(dt, DataType::List(item) if matches!(item.data_type(), DataType::Struct(_)));
        let segments_ok = match segments {
            DataType::Struct(fields) => fields
                .iter()
                .any(|f| f.name() == "change_models" && is_models(f.data_type())),
            other => is_models(other),
        };
        if !segments_ok {
            return plan_err!(
                "{name}: the first argument must be a ccdc result or its change_models, not {segments}"
            );
        }
        let when = match when {
            DataType::Date32 | DataType::Null => DataType::Date32,
            w if w.is_integer() => DataType::Int64,
            other => {
                return plan_err!("{name}: 'when' must be a year or a date, not {other}");
            }
        };
        Ok(vec![segments.clone(), when])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.product.data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let n = args.number_rows;
        let segments = args.args[0].to_array(n)?;
        // A null ccdc result (a pixel without observations) gives null.
        let present: Vec<bool> = (0..n).map(|row| segments.is_valid(row)).collect();
        let list = change_models(&segments).map_err(|e| exec_datafusion_err!("{name}: {e}"))?;
        let segments = Segments::new(name, list)?;
        let when = args.args[1].to_array(n)?;
        let dates: Vec<Option<i64>> = match when.data_type() {
            DataType::Date32 => when
                .as_primitive::<Date32Type>()
                .iter()
                .map(|d| d.map(|d| i64::from(d) + ORDINAL_OF_UNIX_EPOCH))
                .collect(),
            _ => when
                .as_primitive::<Int64Type>()
                .iter()
                .map(|year| {
                    year.map(|y| {
                        i32::try_from(y)
                            .ok()
                            .and_then(july_first)
                            .ok_or_else(|| exec_datafusion_err!("{name}: no such year {y}"))
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?,
        };
        let products: Vec<Option<ChangeProducts>> = segments
            .rows()
            .zip(dates)
            .zip(present)
            .map(|((segments, date), present)| {
                Some(change_products(&segments.filter(|_| present)?, date?))
            })
            .collect();
        let pick = |f: &dyn Fn(&ChangeProducts) -> u16| -> Vec<Option<u16>> {
            products.iter().map(|p| p.as_ref().map(f)).collect()
        };
        let array: ArrayRef = match self.product {
            ChangeProduct::Sctime => Arc::new(UInt16Array::from(pick(&|p| p.sctime))),
            ChangeProduct::Sclast => Arc::new(UInt16Array::from(pick(&|p| p.sclast))),
            ChangeProduct::Scstab => Arc::new(UInt16Array::from(pick(&|p| p.scstab))),
            ChangeProduct::Scmag => Arc::new(Float32Array::from(
                products
                    .iter()
                    .map(|p| p.map(|p| p.scmag))
                    .collect::<Vec<_>>(),
            )),
            ChangeProduct::Scmqa => Arc::new(UInt8Array::from(
                products
                    .iter()
                    .map(|p| p.map(|p| p.scmqa))
                    .collect::<Vec<_>>(),
            )),
        };
        Ok(ColumnarValue::Array(array))
    }
}
