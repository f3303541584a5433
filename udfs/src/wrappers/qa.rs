//! `qa_class(qa, scheme)` and `qa_clear(qa, scheme)`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::datatypes::{DataType, FieldRef, UInt16Type};
use datafusion::common::{exec_datafusion_err, plan_datafusion_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use super::{
    checked_return_field, coerce_band, constant_str, is_list, list_of, map_elements, scalar_str,
    DOC_SECTION,
};
use crate::kernels::qa::{classify, QaScheme};

fn coerce_qa_args(function: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [qa, scheme] = arg_types else {
        return plan_err!(
            "{function} takes 2 arguments (qa, scheme), got {}",
            arg_types.len()
        );
    };
    if !matches!(
        scheme,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    ) {
        return plan_err!(
            "{function}: the scheme must be a string ('c1', 'c2', 'c2_strict' or 'cfmask')"
        );
    }
    Ok(vec![
        coerce_band(function, 1, qa, &DataType::UInt16)?,
        DataType::Utf8,
    ])
}

fn scheme_arg(function: &str, args: &[ColumnarValue]) -> Result<QaScheme> {
    constant_str(function, "QA scheme", &args[1])?
        .parse()
        .map_err(|e| exec_datafusion_err!("{function}: {e}"))
}

/// Applies `f` to every quality value of a scalar or list column.
fn map_qa(
    args: &ScalarFunctionArgs,
    out_type: DataType,
    f: impl Fn(&datafusion::arrow::array::UInt16Array) -> ArrayRef,
) -> Result<ColumnarValue> {
    let qa = args.args[0].to_array(args.number_rows)?;
    let result = map_elements(&qa, out_type, |values| {
        Ok(f(values.as_primitive::<UInt16Type>()))
    })?;
    Ok(ColumnarValue::Array(result))
}

/// Plan-time check of a constant scheme argument, shared with `composite`.
pub(crate) fn check_scheme(function: &str, value: &datafusion::common::ScalarValue) -> Result<()> {
    match scalar_str(value) {
        Some(name) => name
            .parse::<QaScheme>()
            .map(drop)
            .map_err(|e| plan_datafusion_err!("{function}: {e}")),
        None => Ok(()),
    }
}

/// The schemes and their rules, for the UDFs' documentation.
pub(crate) const SCHEME_DOC: &str = "'c1' (Collection 1 pixel_qa bits), 'c2' (Collection 2 \
    QA_PIXEL bits as USGS defines them: bit 6 clear, 7 water, 3 cloud, 4 shadow, 5 snow, 0 fill; \
    cirrus and dilated cloud alone do not change the class), 'c2_strict' (as 'c2', with dilated \
    cloud or cirrus as cloud) or 'cfmask' (codes 0 clear, 1 water, 2 shadow, 3 snow, 4 cloud, \
    255 fill)";

static CLASS_DOC: LazyLock<Documentation> =
    LazyLock::new(|| {
        Documentation::builder(
        DOC_SECTION,
        "The class of a quality value: fill, cloud, shadow, snow, water, clear or unclassified. \
         Where several flags are set the first of fill, cloud, shadow, snow, water, clear wins.",
        "qa_class(qa, scheme)",
    )
    .with_sql_example("SELECT qa_class(qa, 'c1') FROM raster_observations('/data/h003v008')")
    .with_argument("qa", "A quality value (UInt16) or a per-pixel list of them.")
    .with_argument("scheme", SCHEME_DOC)
    .build()
    });

static CLEAR_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "True for clear land or clear water, the observations pyccd counts as clear.",
        "qa_clear(qa, scheme)",
    )
    .with_sql_example(
        "SELECT count(*) FROM raster_observations('/data/h003v008') WHERE qa_clear(qa, 'c1')",
    )
    .with_argument(
        "qa",
        "A quality value (UInt16) or a per-pixel list of them.",
    )
    .with_argument("scheme", SCHEME_DOC)
    .build()
});

fn element_or_list(arg: &DataType, element: DataType) -> DataType {
    if is_list(arg) {
        list_of(element)
    } else {
        element
    }
}

/// What a QA UDF returns for each quality value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Output {
    /// The class name.
    Class,
    /// Whether the observation is clear land or water.
    Clear,
}

/// `qa_class(qa, 'c1' | 'c2' | 'cfmask')`: the class name of a quality value (`fill`, `cloud`,
/// `shadow`, `snow`, `water`, `clear`, `unclassified`); and `qa_clear(qa, scheme)`: true for clear
/// land or clear water. Both take a scalar or a per-pixel list.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct QaUdf {
    output: Output,
    signature: Signature,
}

impl QaUdf {
    fn new(output: Output) -> Self {
        Self {
            output,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    /// `qa_class(qa, scheme)`.
    pub fn class() -> Self {
        Self::new(Output::Class)
    }

    /// `qa_clear(qa, scheme)`.
    pub fn clear() -> Self {
        Self::new(Output::Clear)
    }

    fn element_type(&self) -> DataType {
        match self.output {
            Output::Class => DataType::Utf8,
            Output::Clear => DataType::Boolean,
        }
    }
}

impl ScalarUDFImpl for QaUdf {
    fn name(&self) -> &str {
        match self.output {
            Output::Class => "qa_class",
            Output::Clear => "qa_clear",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_qa_args(self.name(), arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(element_or_list(&arg_types[0], self.element_type()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        checked_return_field(self, &args, |i, value| match i {
            1 => check_scheme(self.name(), value),
            _ => Ok(()),
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.output {
            Output::Class => &CLASS_DOC,
            Output::Clear => &CLEAR_DOC,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scheme = scheme_arg(self.name(), &args.args)?;
        let output = self.output;
        map_qa(&args, self.element_type(), |qa| match output {
            Output::Class => Arc::new(
                qa.iter()
                    .map(|v| v.map(|v| classify(v, scheme).as_str()))
                    .collect::<StringArray>(),
            ),
            Output::Clear => Arc::new(
                qa.iter()
                    .map(|v| v.map(|v| classify(v, scheme).is_clear()))
                    .collect::<BooleanArray>(),
            ),
        })
    }
}
