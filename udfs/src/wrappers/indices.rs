//! `normalized_difference`, `ndvi` and `nbr`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, ListBuilder,
};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{coerce_band, is_list, list_of, row_ranges, same_length, DOC_SECTION};
use crate::kernels::indices;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Index {
    NormalizedDifference,
    Ndvi,
    Nbr,
}

/// One index's documentation.
fn index_doc(description: &str, syntax: &str, a: &str, b: &str) -> Documentation {
    Documentation::builder(
        DOC_SECTION,
        format!(
            "{description} Scalars or per-pixel lists of equal length; fill (-9999), nulls and a \
             zero denominator give null."
        ),
        syntax,
    )
    .with_argument(a, "A band value or a per-pixel list of them.")
    .with_argument(b, "A band value or a per-pixel list of them.")
    .build()
}

static DOCS: LazyLock<[Documentation; 3]> = LazyLock::new(|| {
    [
        index_doc(
            "(a - b) / (a + b).",
            "normalized_difference(a, b)",
            "a",
            "b",
        ),
        index_doc(
            "NDVI, (nir - red) / (nir + red).",
            "ndvi(red, nir)",
            "red",
            "nir",
        ),
        index_doc(
            "Normalized burn ratio, (nir - swir2) / (nir + swir2).",
            "nbr(nir, swir2)",
            "nir",
            "swir2",
        ),
    ]
});

impl Index {
    #[inline]
    fn apply(self, a: f64, b: f64) -> Option<f64> {
        match self {
            Index::NormalizedDifference => indices::normalized_difference(a, b),
            Index::Ndvi => indices::ndvi(a, b),
            Index::Nbr => indices::nbr(a, b),
        }
    }
}

/// A two-band normalized-difference index on scalars or per-pixel lists:
/// `normalized_difference(a, b)`, `ndvi(red, nir)`, `nbr(nir, swir2)`.
///
/// Fill (-9999), nulls and a zero denominator give null. Lists must have equal lengths row by row.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NormalizedDifferenceUdf {
    name: &'static str,
    index: Index,
    signature: Signature,
}

impl NormalizedDifferenceUdf {
    fn new(name: &'static str, index: Index) -> Self {
        Self {
            name,
            index,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    /// `normalized_difference(a, b) = (a - b) / (a + b)`.
    pub fn normalized_difference() -> Self {
        Self::new("normalized_difference", Index::NormalizedDifference)
    }

    /// `ndvi(red, nir)`.
    pub fn ndvi() -> Self {
        Self::new("ndvi", Index::Ndvi)
    }

    /// `nbr(nir, swir2)`.
    pub fn nbr() -> Self {
        Self::new("nbr", Index::Nbr)
    }
}

impl ScalarUDFImpl for NormalizedDifferenceUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCS[self.index as usize])
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [a, b] = arg_types else {
            return plan_err!("{} takes 2 arguments, got {}", self.name, arg_types.len());
        };
        if is_list(a) != is_list(b) {
            return plan_err!(
                "{}: both arguments must be lists or both scalars, got {a} and {b}",
                self.name
            );
        }
        Ok(vec![
            coerce_band(self.name, 1, a, &DataType::Float64)?,
            coerce_band(self.name, 2, b, &DataType::Float64)?,
        ])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(if is_list(&arg_types[0]) {
            list_of(DataType::Float64)
        } else {
            DataType::Float64
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (a, b) = (&arrays[0], &arrays[1]);
        let result: ArrayRef = if is_list(a.data_type()) {
            let (la, lb) = (a.as_list::<i32>(), b.as_list::<i32>());
            let (va, vb) = (
                la.values().as_primitive::<Float64Type>(),
                lb.values().as_primitive::<Float64Type>(),
            );
            let mut out =
                ListBuilder::with_capacity(Float64Builder::with_capacity(va.len()), la.len());
            for (row, (ra, rb)) in row_ranges(la).zip(row_ranges(lb)).enumerate() {
                let (Some(ra), Some(rb)) = (ra, rb) else {
                    out.append_null();
                    continue;
                };
                same_length(self.name, row, &ra, &rb)?;
                for (i, j) in ra.zip(rb) {
                    let value = if va.is_valid(i) && vb.is_valid(j) {
                        self.index.apply(va.value(i), vb.value(j))
                    } else {
                        None
                    };
                    out.values().append_option(value);
                }
                out.append(true);
            }
            Arc::new(out.finish())
        } else {
            let (pa, pb) = (
                a.as_primitive::<Float64Type>(),
                b.as_primitive::<Float64Type>(),
            );
            Arc::new(
                pa.iter()
                    .zip(pb.iter())
                    .map(|(x, y)| self.index.apply(x?, y?))
                    .collect::<Float64Array>(),
            )
        };
        Ok(ColumnarValue::Array(result))
    }
}
