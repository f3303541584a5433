//! Reading `ccdc` results back from Arrow (a column just computed, or a stored segment table):
//! each row's segments as the kernel's [`ChangeModel`]s, for the functions that take segments
//! (the annual update, the change products, land-cover classification).

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, ListArray,
    StructArray,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::{exec_datafusion_err, plan_err, Result};

use super::row_ranges;
use crate::kernels::ccdc::{
    BandModel, CcdResult, ChangeModel, Continuation, Step, BANDS, ORDINAL_OF_UNIX_EPOCH,
};
use crate::kernels::products::july_first;

/// The type a query date argument (`when`: a year, meaning July 1 as LCMAP's products do, or a
/// date) is coerced to.
pub(crate) fn coerce_when(function: &str, when: &DataType) -> Result<DataType> {
    match when {
        DataType::Date32 | DataType::Null => Ok(DataType::Date32),
        w if w.is_integer() => Ok(DataType::Int64),
        other => plan_err!("{function}: 'when' must be a year or a date, not {other}"),
    }
}

/// The ordinal day of each row's `when` (coerced by [`coerce_when`]), `None` where null.
pub(crate) fn query_days(function: &str, when: &ArrayRef) -> Result<Vec<Option<i64>>> {
    Ok(match when.data_type() {
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
                        .ok_or_else(|| exec_datafusion_err!("{function}: no such year {y}"))
                })
                .transpose()
            })
            .collect::<Result<_>>()?,
    })
}

/// Whether a type can hold segments: a `ccdc` result or its `change_models` list.
pub(crate) fn holds_segments(dt: &DataType) -> bool {
    let is_models = |dt: &DataType| matches!(dt, DataType::List(item) if matches!(item.data_type(), DataType::Struct(_)));
    match dt {
        DataType::Struct(fields) => fields
            .iter()
            .any(|f| f.name() == "change_models" && is_models(f.data_type())),
        other => is_models(other),
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

/// One band's models: the columns of a segment's band struct.
struct BandColumns<'a> {
    magnitude: &'a Float64Array,
    rmse: &'a Float64Array,
    coefficients: &'a ListArray,
    intercept: &'a Float64Array,
}

/// The segments of each row of a `ccdc` result column.
pub(crate) struct Segments<'a> {
    function: &'a str,
    /// The whole result, when the column is one (an update needs its processing mask).
    result: Option<&'a StructArray>,
    list: &'a ListArray,
    days: [&'a Date32Array; 3],
    observation_count: &'a Int32Array,
    probability: &'a Float64Array,
    curve_qa: &'a Int32Array,
    bands: Vec<BandColumns<'a>>,
}

impl<'a> Segments<'a> {
    /// The segments of `array`, a `ccdc` result or `change_models` column; errors name
    /// `function` and the field at fault.
    pub(crate) fn new(function: &'a str, array: &'a ArrayRef) -> Result<Self> {
        let list = change_models(array).map_err(|e| exec_datafusion_err!("{function}: {e}"))?;
        let models = list.values().as_struct_opt().ok_or_else(|| {
            exec_datafusion_err!("{function}: change_models must be a list of structs")
        })?;
        let bad = |name: &str, what: &str| {
            exec_datafusion_err!("{function}: segment field '{name}' is missing or not {what}")
        };
        let field = |name: &str| models.column_by_name(name);
        let float = |s: &'a StructArray, name: &str| {
            s.column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .ok_or_else(|| bad(name, "a float"))
        };
        let int = |name: &str| {
            field(name)
                .and_then(|c| c.as_primitive_opt::<Int32Type>())
                .ok_or_else(|| bad(name, "an int32"))
        };
        let date = |name: &str| {
            field(name)
                .and_then(|c| c.as_primitive_opt::<Date32Type>())
                .ok_or_else(|| bad(name, "a date"))
        };
        let bands = BANDS
            .iter()
            .map(|band| {
                let s = field(band)
                    .and_then(|c| c.as_struct_opt())
                    .ok_or_else(|| bad(band, "a struct"))?;
                Ok(BandColumns {
                    magnitude: float(s, "magnitude")?,
                    rmse: float(s, "rmse")?,
                    coefficients: s
                        .column_by_name("coefficients")
                        .and_then(|c| c.as_list_opt::<i32>())
                        .filter(|l| l.values().data_type() == &DataType::Float64)
                        .ok_or_else(|| bad(band, "a struct with float coefficients"))?,
                    intercept: float(s, "intercept")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            function,
            result: array.as_struct_opt(),
            list,
            days: [date("start_day")?, date("end_day")?, date("break_day")?],
            observation_count: int("observation_count")?,
            probability: float(models, "change_probability")?,
            curve_qa: int("curve_qa")?,
            bands,
        })
    }

    fn model(&self, k: usize) -> Result<ChangeModel> {
        let ordinal = |a: &Date32Array| i64::from(a.value(k)) + ORDINAL_OF_UNIX_EPOCH;
        let band = |b: &BandColumns| -> Result<BandModel> {
            let values = b.coefficients.value(k);
            let values = values.as_primitive::<Float64Type>();
            let coefficients = values.values().to_vec().try_into().map_err(|c: Vec<f64>| {
                exec_datafusion_err!(
                    "{}: a segment has {} coefficients per band, not 7",
                    self.function,
                    c.len()
                )
            })?;
            Ok(BandModel {
                magnitude: b.magnitude.value(k),
                rmse: b.rmse.value(k),
                coefficients,
                intercept: b.intercept.value(k),
            })
        };
        let bands: Vec<BandModel> = self.bands.iter().map(band).collect::<Result<_>>()?;
        Ok(ChangeModel {
            start_day: ordinal(self.days[0]),
            end_day: ordinal(self.days[1]),
            break_day: ordinal(self.days[2]),
            observation_count: self.observation_count.value(k).max(0) as usize,
            change_probability: self.probability.value(k),
            curve_qa: i64::from(self.curve_qa.value(k)),
            bands: bands.try_into().expect("one model per band"),
        })
    }

    /// The segments of every row, `None` for a null row.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Result<Option<Vec<ChangeModel>>>> + '_ {
        row_ranges(self.list).enumerate().map(|(row, range)| {
            let present = self.result.is_none_or(|r| r.is_valid(row));
            match range.filter(|_| present) {
                Some(range) => range
                    .map(|k| self.model(k))
                    .collect::<Result<_>>()
                    .map(Some),
                None => Ok(None),
            }
        })
    }

    /// Each row as a result to continue: its segments and processing mask (the probabilities,
    /// which an update computes afresh, as zero). Only a whole `ccdc` result has a mask.
    pub(crate) fn results(&self) -> Result<Vec<Option<CcdResult>>> {
        let masks = self
            .result
            .and_then(|r| r.column_by_name("processing_mask"))
            .and_then(|m| m.as_list_opt::<i32>())
            .filter(|m| m.values().data_type() == &DataType::Boolean)
            .ok_or_else(|| {
                exec_datafusion_err!(
                    "{}: the previous result must be a whole ccdc result, with its \
                     processing_mask, not its change_models alone",
                    self.function
                )
            })?;
        let flags: &BooleanArray = masks.values().as_boolean();
        let continuations = self.continuations()?;
        self.rows()
            .zip(row_ranges(masks))
            .zip(continuations)
            .map(|((models, mask), continuation)| {
                Ok(match (models?, mask) {
                    (Some(change_models), Some(mask)) => Some(CcdResult {
                        change_models,
                        processing_mask: mask.map(|k| flags.value(k)).collect(),
                        cloud_prob: 0.0,
                        snow_prob: 0.0,
                        water_prob: 0.0,
                        continuation,
                    }),
                    _ => None,
                })
            })
            .collect()
    }

    /// Each row's continuation, `None` where there is none or the results have no such field
    /// (stored before ardent kept it, or typed by hand): those updates restart at the last
    /// break, as pyccd's do.
    fn continuations(&self) -> Result<Vec<Option<Continuation>>> {
        let rows = self.list.len();
        let Some(c) = self
            .result
            .and_then(|r| r.column_by_name("continuation"))
            .and_then(|c| c.as_struct_opt())
        else {
            return Ok(vec![None; rows]);
        };
        let bad = || {
            exec_datafusion_err!(
                "{}: the previous result's continuation is malformed",
                self.function
            )
        };
        let int = |name: &str| {
            c.column_by_name(name)
                .and_then(|a| a.as_primitive_opt::<Int32Type>())
                .ok_or_else(bad)
        };
        let steps = c
            .column_by_name("step")
            .and_then(|a| a.as_string_opt::<i32>())
            .ok_or_else(bad)?;
        let starts = c
            .column_by_name("start")
            .and_then(|a| a.as_boolean_opt())
            .ok_or_else(bad)?;
        let [window_start, window_stop, fit_start, fit_stop, previous_end, segments] = [
            "window_start",
            "window_stop",
            "fit_start",
            "fit_stop",
            "previous_end",
            "segments",
        ]
        .map(int);
        let (window_start, window_stop, fit_start, fit_stop, previous_end, segments) = (
            window_start?,
            window_stop?,
            fit_start?,
            fit_stop?,
            previous_end?,
            segments?,
        );
        let position = |a: &Int32Array, row: usize| {
            a.is_valid(row)
                .then(|| usize::try_from(a.value(row)).ok())
                .flatten()
        };
        (0..rows)
            .map(|row| {
                if c.is_null(row) {
                    return Ok(None);
                }
                let step = Step::from_name(steps.value(row)).ok_or_else(bad)?;
                let fit_window = position(fit_start, row).zip(position(fit_stop, row));
                Ok(Some(Continuation {
                    step,
                    window: position(window_start, row)
                        .zip(position(window_stop, row))
                        .ok_or_else(bad)?,
                    fit_window,
                    previous_end: position(previous_end, row).ok_or_else(bad)?,
                    start: starts.value(row),
                    segments: position(segments, row).ok_or_else(bad)?,
                }))
            })
            .collect()
    }
}
