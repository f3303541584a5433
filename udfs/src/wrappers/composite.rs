//! `composite(stat, dates, values, qa, scheme, start, end)`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Date32Type, FieldRef, Float64Type, UInt16Type};
use datafusion::common::{
    exec_datafusion_err, exec_err, plan_datafusion_err, plan_err, Result, ScalarValue,
};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use super::qa::{check_scheme, SCHEME_DOC};
use super::{
    checked_return_field, coerce_band, constant_str, is_list, list_of, row_ranges, same_length,
    scalar_str, DOC_SECTION,
};
use crate::kernels::composite::{composite, CompositeStat, Series};
use crate::kernels::qa::QaScheme;

const NAME: &str = "composite";

/// `composite(stat, dates, values, qa, scheme, start, end)`: one statistic (`median`, `mean`,
/// `min`, `max` or `count`) of a pixel's clear, valid observations with `start <= date < end`.
///
/// `dates`, `values` and `qa` are the per-pixel lists of the `pixels` layout (values may be a band
/// or an index such as `ndvi(red, nir)`); `scheme` is `'c1'`, `'c2'` or `'cfmask'`; `start` and
/// `end` are dates. The result is null where no observation qualifies (`count` gives 0).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CompositeUdf {
    signature: Signature,
}

impl CompositeUdf {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for CompositeUdf {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "One statistic of a pixel's clear, valid observations with start <= date < end; null \
         where none qualifies (count gives 0).",
        "composite(stat, dates, values, qa, scheme, start, end)",
    )
    .with_sql_example(
        "SELECT px, py, composite('median', dates, ndvi(red, nir), qa, 'c1', \
         DATE '2016-01-01', DATE '2017-01-01') FROM raster_pixels('/data/h003v008')",
    )
    .with_argument("stat", "'median', 'mean', 'min', 'max' or 'count'.")
    .with_argument("dates", "The pixel's acquisition dates (a list).")
    .with_argument("values", "A band or an index per acquisition (a list).")
    .with_argument("qa", "The pixel's quality values (a list).")
    .with_argument("scheme", SCHEME_DOC)
    .with_argument("start", "First date included (a constant date).")
    .with_argument("end", "First date excluded (a constant date).")
    .build()
});

fn constant_date(what: &str, arg: &ColumnarValue) -> Result<i32> {
    match arg {
        ColumnarValue::Scalar(ScalarValue::Date32(Some(d))) => Ok(*d),
        _ => exec_err!("{NAME}: the {what} must be a constant date"),
    }
}

impl ScalarUDFImpl for CompositeUdf {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [_, dates, values, qa, _, _, _] = arg_types else {
            return plan_err!(
                "{NAME} takes 7 arguments (stat, dates, values, qa, scheme, start, end), got {}",
                arg_types.len()
            );
        };
        for (position, arg) in [(2, dates), (3, values), (4, qa)] {
            if !is_list(arg) {
                return plan_err!(
                    "{NAME}: argument {position} must be a per-pixel list, not {arg}"
                );
            }
        }
        Ok(vec![
            DataType::Utf8,
            list_of(DataType::Date32),
            coerce_band(NAME, 3, values, &DataType::Float64)?,
            coerce_band(NAME, 4, qa, &DataType::UInt16)?,
            DataType::Utf8,
            DataType::Date32,
            DataType::Date32,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        checked_return_field(self, &args, |i, value| match i {
            0 => match scalar_str(value) {
                Some(stat) => stat
                    .parse::<CompositeStat>()
                    .map(drop)
                    .map_err(|e| plan_datafusion_err!("{NAME}: {e}")),
                None => Ok(()),
            },
            4 => check_scheme(NAME, value),
            _ => Ok(()),
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = &args.args;
        let stat: CompositeStat = constant_str(NAME, "statistic", &a[0])?
            .parse()
            .map_err(|e| exec_datafusion_err!("{NAME}: {e}"))?;
        let scheme: QaScheme = constant_str(NAME, "QA scheme", &a[4])?
            .parse()
            .map_err(|e| exec_datafusion_err!("{NAME}: {e}"))?;
        let (start, end) = (constant_date("start", &a[5])?, constant_date("end", &a[6])?);

        let n = args.number_rows;
        let (dates, values, qa) = (a[1].to_array(n)?, a[2].to_array(n)?, a[3].to_array(n)?);
        let (dates, values, qa) = (
            dates.as_list::<i32>(),
            values.as_list::<i32>(),
            qa.as_list::<i32>(),
        );
        let date_values = dates.values().as_primitive::<Date32Type>();
        let band_values = values.values().as_primitive::<Float64Type>();
        let qa_values = qa.values().as_primitive::<UInt16Type>();

        // One scratch buffer for the whole batch; missing values become NaN, which the kernel skips.
        let mut scratch = Vec::new();
        let mut row_values = Vec::new();
        let rows = row_ranges(dates)
            .zip(row_ranges(values))
            .zip(row_ranges(qa));
        let result: Float64Array = rows
            .enumerate()
            .map(|(row, ((d, v), q))| {
                let (Some(d), Some(v), Some(q)) = (d, v, q) else {
                    return Ok(None);
                };
                same_length(NAME, row, &d, &v)?;
                same_length(NAME, row, &d, &q)?;
                row_values.clear();
                row_values.extend(d.clone().zip(v).zip(q.clone()).map(|((i, j), k)| {
                    if date_values.is_valid(i) && band_values.is_valid(j) && qa_values.is_valid(k) {
                        band_values.value(j)
                    } else {
                        f64::NAN
                    }
                }));
                let series = Series {
                    dates: &date_values.values()[d],
                    values: &row_values,
                    qa: &qa_values.values()[q],
                };
                Ok(composite(series, scheme, start, end, stat, &mut scratch))
            })
            .collect::<Result<_>>()?;
        Ok(ColumnarValue::Array(Arc::new(result)))
    }
}
