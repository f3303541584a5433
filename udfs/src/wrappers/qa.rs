//! `qa_class(qa, scheme)` and `qa_clear(qa, scheme)`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::datatypes::{DataType, UInt16Type};
use datafusion::common::{exec_datafusion_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{coerce_band, constant_str, is_list, list_of, map_elements};
use crate::kernels::qa::{classify, QaClass, QaScheme};

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

/// `qa_class(qa, 'c1' | 'c2' | 'cfmask')`: the class name of a quality value (`fill`, `cloud`,
/// `shadow`, `snow`, `water`, `clear`, `unclassified`), for a scalar or per pixel list.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct QaClassUdf {
    signature: Signature,
}

impl QaClassUdf {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for QaClassUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for QaClassUdf {
    fn name(&self) -> &str {
        "qa_class"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_qa_args(self.name(), arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(element_or_list(&arg_types[0], DataType::Utf8))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scheme = scheme_arg(self.name(), &args.args)?;
        map_qa(&args, DataType::Utf8, |qa| {
            Arc::new(
                qa.iter()
                    .map(|v| v.map(|v| classify(v, scheme).as_str()))
                    .collect::<StringArray>(),
            )
        })
    }
}

/// `qa_clear(qa, 'c1' | 'c2' | 'cfmask')`: true for clear land or clear water.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct QaClearUdf {
    signature: Signature,
}

impl QaClearUdf {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for QaClearUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for QaClearUdf {
    fn name(&self) -> &str {
        "qa_clear"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_qa_args(self.name(), arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(element_or_list(&arg_types[0], DataType::Boolean))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scheme = scheme_arg(self.name(), &args.args)?;
        map_qa(&args, DataType::Boolean, |qa| {
            Arc::new(
                qa.iter()
                    .map(|v| v.map(|v| QaClass::is_clear(classify(v, scheme))))
                    .collect::<BooleanArray>(),
            )
        })
    }
}
