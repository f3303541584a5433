//! `sctime`, `scmag`, `sclast`, `scstab` and `scmqa`: LCMAP's change products of a pixel's CCDC
//! segments at a date.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float32Array, UInt16Array, UInt8Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::segments::{coerce_when, holds_segments, query_days, Segments};
use super::DOC_SECTION;
use crate::kernels::products::{change_products, ChangeProducts, Segment};

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
        if !holds_segments(segments) {
            return plan_err!(
                "{name}: the first argument must be a ccdc result or its change_models, not {segments}"
            );
        }
        Ok(vec![segments.clone(), coerce_when(name, when)?])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.product.data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let n = args.number_rows;
        let segments = args.args[0].to_array(n)?;
        let segments = Segments::new(name, &segments)?;
        let dates = query_days(name, &args.args[1].to_array(n)?)?;
        // A null ccdc result (a pixel without observations) or date gives null.
        let products: Vec<Option<ChangeProducts>> = segments
            .rows()
            .zip(dates)
            .map(|(models, date)| {
                let products = models?.zip(date).map(|(models, date)| {
                    let segments: Vec<Segment> = models.iter().map(Segment::from).collect();
                    change_products(&segments, date)
                });
                Ok(products)
            })
            .collect::<Result<_>>()?;
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
