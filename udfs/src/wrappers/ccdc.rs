//! `ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa [, params])` and its annual
//! update, `ccdc_update(previous, dates, ..., qa [, params])`.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, ListArray,
    StringArray, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, Fields, Float64Type, Int64Type,
};
use datafusion::common::{exec_datafusion_err, plan_datafusion_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use datafusion::arrow::compute::cast;

use super::segments::{holds_segments, Segments};
use super::{
    checked_return_field, coerce_band, constant_str, field_qa_scheme, is_list, list_of, row_ranges,
    same_length, scalar_str, DOC_SECTION,
};
use crate::kernels::ccdc::{
    detect, settings, update, CcdResult, ChangeModel, Continuation, Series, BANDS,
    ORDINAL_OF_UNIX_EPOCH,
};

/// `ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa [, params])`: CCDC change
/// detection of each pixel's time series, as pyccd 2021.7.19's `ccd.detect` gives it.
///
/// The arguments are per-pixel lists (the `pixels` layout, or `array_agg` over observations):
/// dates, the seven bands and QA as integers. `params` is a constant JSON object of pyccd
/// parameters by pyccd's names, plus `"QA"`: a QA scheme name (`"c1"`, `"c2"`, `"c2_strict"` or
/// `"cfmask"`), decoded as `qa_class` decodes it. Without it, the scheme is the one the `qa`
/// argument's field names ([`super::QA_SCHEME_KEY`]: a raster table's `qa` column names its
/// collection's), else `c1`.
/// The lists may be in any order (the same in all nine): the kernel sorts each pixel's
/// observations by date, as pyccd does, so `array_agg` needs no `ORDER BY`.
/// Observations with a null date, band or QA value are left out. The result is a struct shaped
/// like pyccd's: `change_models` (a list of segments with `start_day`, `end_day`, `break_day`,
/// `observation_count`, `change_probability`, `curve_qa` and per band `magnitude`, `rmse`,
/// `coefficients`, `intercept`), `processing_mask` (in date order), `cloud_prob`, `snow_prob`,
/// `water_prob`; and ardent's `continuation` (where the detection ran out of observations, for
/// `ccdc_update`).
///
/// [`CcdcUdf::update`] is `ccdc_update(previous, dates, ..., qa [, params])`: the annual update
/// of a stored result `previous` over the pixel's series grown by new acquisitions, as pyccd's
/// `prev_results` gives it ([`crate::kernels::ccdc::update`]); a null `previous` detects afresh.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CcdcUdf {
    signature: Signature,
    /// Whether this is `ccdc_update`, whose first argument is the previous result.
    update: bool,
}

impl CcdcUdf {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            update: false,
        }
    }

    /// `ccdc_update(previous, dates, ..., qa [, params])`.
    pub fn update() -> Self {
        Self {
            update: true,
            ..Self::new()
        }
    }

    /// Where the series' arguments begin: after `previous` for an update.
    fn first(&self) -> usize {
        usize::from(self.update)
    }
}

impl Default for CcdcUdf {
    fn default() -> Self {
        Self::new()
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "CCDC change detection of each pixel's time series, as lcmap-pyccd 2021.7.19's \
         ccd.detect gives it: a struct of change_models (segments with start_day, end_day, \
         break_day, observation_count, change_probability, curve_qa and per band magnitude, \
         rmse, coefficients, intercept), processing_mask, cloud_prob, snow_prob, water_prob, and \
         continuation (where detection ran out of observations, which ccdc_update picks up). \
         The lists may come in any order, the same in all of them: each pixel's observations \
         are sorted by date, as pyccd does, so array_agg needs no ORDER BY. Observations with a \
         null value are left out.",
        "ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa [, params])",
    )
    .with_sql_example(
        "SELECT px, py, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) \
         FROM raster_pixels('/data/h003v008')",
    )
    .with_argument("dates", "The pixel's acquisition dates (a list).")
    .with_argument(
        "blue, green, red, nir, swir1, swir2, thermal",
        "The bands per acquisition (lists; reflectance x 10000, brightness temperature K x 10).",
    )
    .with_argument("qa", "The quality values per acquisition (a list).")
    .with_argument(
        "params",
        "Optional constant JSON object of pyccd parameters by pyccd's names \
         ('{\"MEOW_SIZE\": 16}'), plus \"QA\": 'c1', 'c2', 'c2_strict' or 'cfmask'; by \
         default the scheme of the qa column's collection ('c2' for Collection 2 stacks), else 'c1'.",
    )
    .build()
});

static UPDATE_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The annual update of CCDC: continues a previous ccdc result over the pixel's series          grown by new acquisitions, as lcmap-pyccd 2021.7.19's ccd.detect(..., prev_results)          does. Segments up to the last confirmed break are kept as they are and detection          restarts there, so the old years are not detected again. The old series must be an          identical prefix of the new one and the params those of the previous run; set          STAT_ORD (an ordinal day) at or before the old series' end to keep the one-time          statistics. A null previous result detects afresh.",
        "ccdc_update(previous, dates, blue, green, red, nir, swir1, swir2, thermal, qa [, params])",
    )
    .with_sql_example(
        "SELECT p.px, p.py, ccdc_update(s.ccdc, p.dates, p.blue, p.green, p.red, p.nir, \
         p.swir1, p.swir2, p.thermal, p.qa) AS ccdc FROM raster_pixels('/data/h003v008') p \
         LEFT JOIN segments s ON p.px = s.px AND p.py = s.py",
    )
    .with_argument("previous", "A stored ccdc result (the whole struct) of the pixel.")
    .with_argument("dates, blue, ..., qa, params", "As for ccdc, over the grown series.")
    .build()
});

fn field(name: &str, dt: DataType) -> Arc<Field> {
    Arc::new(Field::new(name, dt, true))
}

fn band_fields() -> Fields {
    Fields::from(vec![
        field("magnitude", DataType::Float64),
        field("rmse", DataType::Float64),
        field("coefficients", list_of(DataType::Float64)),
        field("intercept", DataType::Float64),
    ])
}

fn model_fields() -> Fields {
    let mut fields = vec![
        field("start_day", DataType::Date32),
        field("end_day", DataType::Date32),
        field("break_day", DataType::Date32),
        field("observation_count", DataType::Int32),
        field("change_probability", DataType::Float64),
        field("curve_qa", DataType::Int32),
    ];
    fields.extend(
        BANDS
            .iter()
            .map(|b| field(b, DataType::Struct(band_fields()))),
    );
    Fields::from(fields)
}

/// ardent's continuation of a detection ([`crate::kernels::ccdc::Continuation`]): positions
/// among the observations the processing mask keeps.
pub(super) fn continuation_fields() -> Fields {
    Fields::from(vec![
        field("step", DataType::Utf8),
        field("window_start", DataType::Int32),
        field("window_stop", DataType::Int32),
        field("fit_start", DataType::Int32),
        field("fit_stop", DataType::Int32),
        field("previous_end", DataType::Int32),
        field("start", DataType::Boolean),
        field("segments", DataType::Int32),
    ])
}

fn result_fields() -> Fields {
    Fields::from(vec![
        field("change_models", list_of(DataType::Struct(model_fields()))),
        field("processing_mask", list_of(DataType::Boolean)),
        field("cloud_prob", DataType::Float64),
        field("snow_prob", DataType::Float64),
        field("water_prob", DataType::Float64),
        field("continuation", DataType::Struct(continuation_fields())),
    ])
}

impl ScalarUDFImpl for CcdcUdf {
    fn name(&self) -> &str {
        if self.update {
            "ccdc_update"
        } else {
            "ccdc"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let first = self.first();
        if !(9 + first..=10 + first).contains(&arg_types.len()) {
            let previous = if self.update { "previous, " } else { "" };
            return plan_err!(
                "{name} takes {previous}dates, blue, green, red, nir, swir1, swir2, thermal, qa \
                 and optional params, got {} arguments",
                arg_types.len()
            );
        }
        let mut types = Vec::with_capacity(arg_types.len());
        if self.update {
            if !holds_segments(&arg_types[0]) {
                return plan_err!(
                    "{name}: the first argument must be a previous ccdc result, not {}",
                    arg_types[0]
                );
            }
            types.push(arg_types[0].clone());
        }
        for (i, arg) in arg_types[first..].iter().take(9).enumerate() {
            if !is_list(arg) {
                return plan_err!(
                    "{name}: argument {} must be a per-pixel list, not {arg}",
                    first + i + 1
                );
            }
            types.push(match i {
                0 => list_of(DataType::Date32),
                // Integer lists stay as they are, so the column's QA scheme metadata reaches
                // `invoke_with_args` (a cast would drop it); the kernel widens them itself.
                8 if qa_list_as_is(arg) => arg.clone(),
                8 => coerce_band(name, first + i + 1, arg, &DataType::Int64)?,
                _ => coerce_band(name, first + i + 1, arg, &DataType::Float64)?,
            });
        }
        if arg_types.len() == 10 + first {
            types.push(DataType::Utf8);
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(result_fields()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let params_at = 9 + self.first();
        checked_return_field(self, &args, |i, value| match (i, scalar_str(value)) {
            (i, Some(json)) if i == params_at => settings(None, Some(json))
                .map(drop)
                .map_err(|e| plan_datafusion_err!("{}: {e}", self.name())),
            _ => Ok(()),
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(if self.update { &UPDATE_DOC } else { &DOC })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let first = self.first();
        let n = args.number_rows;
        let previous = match self.update {
            true => {
                let previous = args.args[0].to_array(n)?;
                Segments::new(name, &previous)?.results()?
            }
            false => vec![None; n],
        };
        let a = &args.args[first..];
        let json = match a.get(9) {
            Some(arg) => Some(constant_str(name, "params", arg)?),
            None => None,
        };
        let column_scheme = args
            .arg_fields
            .get(first + 8)
            .and_then(|f| field_qa_scheme(f));
        let (scheme, params) =
            settings(column_scheme, json).map_err(|e| exec_datafusion_err!("{name}: {e}"))?;
        let mut arrays: Vec<ArrayRef> = a[..9]
            .iter()
            .map(|v| v.to_array(n))
            .collect::<Result<_>>()?;
        arrays[8] = cast(&arrays[8], &list_of(DataType::Int64))?;
        let lists: Vec<&ListArray> = arrays.iter().map(|a| a.as_list::<i32>()).collect();
        let dates = lists[0].values().as_primitive::<Date32Type>();
        let bands: Vec<_> = lists[1..8]
            .iter()
            .map(|l| l.values().as_primitive::<Float64Type>())
            .collect();
        let qa = lists[8].values().as_primitive::<Int64Type>();

        let has_nulls = dates.null_count() > 0
            || qa.null_count() > 0
            || bands.iter().any(|b| b.null_count() > 0);
        let mut ranges: Vec<_> = lists.iter().map(|l| row_ranges(l)).collect();
        let mut results = Vec::with_capacity(n);
        for row in 0..n {
            let rows: Vec<_> = ranges.iter_mut().map(|r| r.next().flatten()).collect();
            let Some(rows) = rows.into_iter().collect::<Option<Vec<_>>>() else {
                results.push(None);
                continue;
            };
            for r in &rows[1..] {
                same_length(name, row, &rows[0], r)?;
            }
            // Observations with any null value are left out; without nulls, the bands and QA
            // are the lists' own values.
            let keep: Option<Vec<usize>> = has_nulls.then(|| {
                (0..rows[0].len())
                    .filter(|&k| {
                        dates.is_valid(rows[0].start + k)
                            && qa.is_valid(rows[8].start + k)
                            && (0..7).all(|b| bands[b].is_valid(rows[b + 1].start + k))
                    })
                    .collect()
            });
            let keep = keep.as_deref();
            let series_dates: Vec<i64> = kept(&dates.values()[rows[0].clone()], keep)
                .iter()
                .map(|&d| i64::from(d) + ORDINAL_OF_UNIX_EPOCH)
                .collect();
            let series_bands: [Cow<[f64]>; 7] =
                std::array::from_fn(|b| kept(&bands[b].values()[rows[b + 1].clone()], keep));
            let series_qa = kept(&qa.values()[rows[8].clone()], keep);
            if series_dates.is_empty() {
                results.push(None);
                continue;
            }
            let series = Series {
                dates: &series_dates,
                bands: std::array::from_fn(|b| series_bands[b].as_ref()),
                qa: &series_qa,
            };
            let result = match &previous[row] {
                Some(previous) => update(previous, &series, scheme, &params),
                None => detect(&series, scheme, &params),
            }
            .map_err(|e| exec_datafusion_err!("{name}: row {row}: {e}"))?;
            results.push(Some(result));
        }
        Ok(ColumnarValue::Array(Arc::new(to_struct(&results)?)))
    }
}

/// A row's `values`, only those at `keep` if given.
fn kept<'a, T: Copy>(values: &'a [T], keep: Option<&[usize]>) -> Cow<'a, [T]> {
    match keep {
        None => Cow::Borrowed(values),
        Some(keep) => Cow::Owned(keep.iter().map(|&k| values[k]).collect()),
    }
}

/// Whether a QA argument can reach the kernel uncast: a list of integers.
fn qa_list_as_is(arg: &DataType) -> bool {
    matches!(arg, DataType::List(item) if item.data_type().is_integer())
}

/// Offsets of lists with these lengths.
fn offsets(lengths: impl IntoIterator<Item = usize>) -> OffsetBuffer<i32> {
    OffsetBuffer::from_lengths(lengths)
}

fn list(
    item: DataType,
    lengths: Vec<usize>,
    values: ArrayRef,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef> {
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new_list_field(item, true)),
        offsets(lengths),
        values,
        nulls,
    )?))
}

fn day(ordinal: i64) -> i32 {
    (ordinal - ORDINAL_OF_UNIX_EPOCH) as i32
}

/// The per-band models of every segment, as one struct array per band.
fn band_array(models: &[&ChangeModel], b: usize) -> Result<ArrayRef> {
    let floats = |f: &dyn Fn(&ChangeModel) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(models.iter().map(|m| f(m))))
    };
    let coefficients =
        Float64Array::from_iter_values(models.iter().flat_map(|m| m.bands[b].coefficients));
    let columns: Vec<ArrayRef> = vec![
        floats(&|m| m.bands[b].magnitude),
        floats(&|m| m.bands[b].rmse),
        list(
            DataType::Float64,
            models
                .iter()
                .map(|m| m.bands[b].coefficients.len())
                .collect(),
            Arc::new(coefficients),
            None,
        )?,
        floats(&|m| m.bands[b].intercept),
    ];
    Ok(Arc::new(StructArray::try_new(
        band_fields(),
        columns,
        None,
    )?))
}

fn to_struct(results: &[Option<CcdResult>]) -> Result<StructArray> {
    let present = || results.iter().flatten();
    let models: Vec<&ChangeModel> = present().flat_map(|r| &r.change_models).collect();
    let days = |f: &dyn Fn(&ChangeModel) -> i64| -> ArrayRef {
        Arc::new(Date32Array::from_iter_values(
            models.iter().map(|m| day(f(m))),
        ))
    };
    let mut model_columns: Vec<ArrayRef> = vec![
        days(&|m| m.start_day),
        days(&|m| m.end_day),
        days(&|m| m.break_day),
        Arc::new(Int32Array::from_iter_values(
            models.iter().map(|m| m.observation_count as i32),
        )),
        Arc::new(Float64Array::from_iter_values(
            models.iter().map(|m| m.change_probability),
        )),
        Arc::new(Int32Array::from_iter_values(
            models.iter().map(|m| m.curve_qa as i32),
        )),
    ];
    for b in 0..7 {
        model_columns.push(band_array(&models, b)?);
    }
    let model_struct = StructArray::try_new(model_fields(), model_columns, None)?;
    let rows_valid = NullBuffer::from(results.iter().map(Option::is_some).collect::<Vec<_>>());
    let lengths = |f: &dyn Fn(&CcdResult) -> usize| -> Vec<usize> {
        results.iter().map(|r| r.as_ref().map_or(0, f)).collect()
    };
    let change_models = list(
        DataType::Struct(model_fields()),
        lengths(&|r| r.change_models.len()),
        Arc::new(model_struct),
        Some(rows_valid.clone()),
    )?;
    let mask = BooleanArray::from(
        present()
            .flat_map(|r| r.processing_mask.iter().copied())
            .collect::<Vec<_>>(),
    );
    let processing_mask = list(
        DataType::Boolean,
        lengths(&|r| r.processing_mask.len()),
        Arc::new(mask),
        Some(rows_valid.clone()),
    )?;
    let probability = |f: &dyn Fn(&CcdResult) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            results
                .iter()
                .map(|r| r.as_ref().map(f))
                .collect::<Vec<_>>(),
        ))
    };
    Ok(StructArray::try_new(
        result_fields(),
        vec![
            change_models,
            processing_mask,
            probability(&|r| r.cloud_prob),
            probability(&|r| r.snow_prob),
            probability(&|r| r.water_prob),
            continuation_array(results)?,
        ],
        Some(rows_valid),
    )?)
}

fn continuation_array(results: &[Option<CcdResult>]) -> Result<ArrayRef> {
    let all: Vec<Option<Continuation>> = results
        .iter()
        .map(|r| r.as_ref().and_then(|r| r.continuation))
        .collect();
    let int = |f: &dyn Fn(&Continuation) -> Option<usize>| -> ArrayRef {
        Arc::new(Int32Array::from(
            all.iter()
                .map(|c| c.as_ref().and_then(f).map(|v| v as i32))
                .collect::<Vec<_>>(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            all.iter()
                .map(|c| c.map(|c| c.step.name()))
                .collect::<Vec<_>>(),
        )),
        int(&|c| Some(c.window.0)),
        int(&|c| Some(c.window.1)),
        int(&|c| c.fit_window.map(|w| w.0)),
        int(&|c| c.fit_window.map(|w| w.1)),
        int(&|c| Some(c.previous_end)),
        Arc::new(BooleanArray::from(
            all.iter().map(|c| c.map(|c| c.start)).collect::<Vec<_>>(),
        )),
        int(&|c| Some(c.segments)),
    ];
    let present = NullBuffer::from(all.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(StructArray::try_new(
        continuation_fields(),
        columns,
        Some(present),
    )?))
}
