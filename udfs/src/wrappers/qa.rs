//! `qa_class(qa, scheme)` and `qa_clear(qa, scheme)`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::datatypes::{DataType, UInt16Type};
use datafusion::common::{exec_datafusion_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{coerce_band, constant_str, is_list, list_of, map_elements};
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
        return plan_err!("{function}: the scheme must be a string ('c1', 'c2' or 'cfmask')");
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
