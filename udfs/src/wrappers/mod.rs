//! DataFusion wrappers around [`crate::kernels`]: argument coercion, Arrow in and out, nothing else.
//!
//! Every wrapper accepts a band either as a scalar column (the `observations` layout, CSV data) or
//! as a per-pixel list (the `pixels` layout); lists are processed element by element and keep their
//! row structure.

mod ccdc;
mod composite;
mod indices;
mod landcover;
mod products;
mod qa;
mod segments;

pub use ccdc::CcdcUdf;
pub use composite::CompositeUdf;
pub use indices::NormalizedDifferenceUdf;
pub use landcover::{CoverProduct, FeaturesUdf, LandcoverUdf, PredictUdf};
pub use products::{ChangeProduct, ChangeProductUdf};
pub use qa::QaUdf;

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, DocSection, ReturnFieldArgs, ScalarUDFImpl};

/// Field metadata naming the QA scheme of a quality column (raster tables set it on `qa` by their
/// stack's collection): the scheme functions decoding the column use when none is given.
pub const QA_SCHEME_KEY: &str = "ardent.qa_scheme";

/// The QA scheme a field's metadata names ([`QA_SCHEME_KEY`]), if any.
pub(crate) fn field_qa_scheme(field: &Field) -> Option<crate::kernels::qa::QaScheme> {
    field.metadata().get(QA_SCHEME_KEY)?.parse().ok()
}

/// The section `SHOW FUNCTIONS` and generated docs list ardent's UDFs under.
pub(crate) const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Landsat ARD functions (ardent)",
    description: Some("Per-pixel indices, quality decoding, composites and CCDC change detection."),
};

/// The text of a string literal.
pub(crate) fn scalar_str(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

/// The return field of `udf`, after `check` has seen every argument given as a constant: bad
/// constant arguments (an unknown QA scheme, malformed CCDC parameters) fail at planning, not in
/// every batch.
pub(crate) fn checked_return_field(
    udf: &dyn ScalarUDFImpl,
    args: &ReturnFieldArgs,
    check: impl Fn(usize, &ScalarValue) -> Result<()>,
) -> Result<FieldRef> {
    for (i, value) in args.scalar_arguments.iter().enumerate() {
        if let Some(value) = value {
            check(i, value)?;
        }
    }
    let types: Vec<DataType> = args
        .arg_fields
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    Ok(Arc::new(Field::new(
        udf.name(),
        udf.return_type(&types)?,
        true,
    )))
}

/// `List<item: dt>`, the list type every wrapper produces and coerces lists to.
pub(crate) fn list_of(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(dt, true)))
}

pub(crate) fn is_list(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _)
    )
}

/// Coerces a numeric scalar type to `target`, and a list of numbers to `List<target>`.
pub(crate) fn coerce_band(
    function: &str,
    position: usize,
    arg: &DataType,
    target: &DataType,
) -> Result<DataType> {
    let element = match arg {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.data_type(),
        other => other,
    };
    if !(element.is_numeric() || element == &DataType::Null) {
        return plan_err!(
            "{function}: argument {position} must be a number or a list of numbers, not {arg}"
        );
    }
    Ok(if is_list(arg) {
        list_of(target.clone())
    } else {
        target.clone()
    })
}

/// The value of a constant string argument such as a QA scheme name.
pub(crate) fn constant_str<'a>(
    function: &str,
    what: &str,
    arg: &'a ColumnarValue,
) -> Result<&'a str> {
    match arg {
        ColumnarValue::Scalar(value) => match scalar_str(value) {
            Some(s) => Ok(s),
            None => exec_err!("{function}: the {what} must be a constant string"),
        },
        ColumnarValue::Array(_) => exec_err!("{function}: the {what} must be a constant string"),
    }
}

/// The element range of each row of a list, `None` for a null row.
pub(crate) fn row_ranges(list: &ListArray) -> impl Iterator<Item = Option<Range<usize>>> + '_ {
    list.value_offsets()
        .windows(2)
        .enumerate()
        .map(|(row, w)| (!list.is_null(row)).then(|| w[0] as usize..w[1] as usize))
}

/// Checks that two list rows have the same length, naming the function and row if not.
pub(crate) fn same_length(
    function: &str,
    row: usize,
    a: &Range<usize>,
    b: &Range<usize>,
) -> Result<()> {
    if a.len() != b.len() {
        return exec_err!(
            "{function}: lists of unequal length in row {row} ({} and {} elements)",
            a.len(),
            b.len()
        );
    }
    Ok(())
}

/// Applies an element-wise function to a scalar array, or to the elements of a list array keeping
/// its offsets and row nulls.
pub(crate) fn map_elements(
    array: &ArrayRef,
    out_type: DataType,
    f: impl Fn(&ArrayRef) -> Result<ArrayRef>,
) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::List(_) => {
            let list = array
                .as_any()
                .downcast_ref::<ListArray>()
                .expect("List data type is a ListArray");
            let values = f(list.values())?;
            Ok(Arc::new(ListArray::try_new(
                Arc::new(Field::new_list_field(out_type, true)),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?))
        }
        _ => f(array),
    }
}
