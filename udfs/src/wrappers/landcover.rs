//! Land cover in SQL: `lc_features(segments, when [, aux])` (the classifier's features, for
//! training), `lc_predict(features, model)` (class probabilities from a saved XGBoost model)
//! and `landcover(segments, when, model [, aux])` (LCMAP's five cover products).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray, UInt8Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float32Type};
use datafusion::common::{exec_datafusion_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::segments::{coerce_when, holds_segments, query_days, Segments};
use super::{coerce_band, constant_str, is_list, list_of, row_ranges, DOC_SECTION};
use crate::kernels::booster::Booster;
use crate::kernels::cover::{
    classify_pixels, cover_products, features, segments_read_at, CoverProducts,
};

/// LCMAP predicts land cover on July 1 of each year a segment spans.
const PREDICTION_DAY: (u32, u32) = (7, 1);

/// Models read so far, by file: each batch reuses them; a file whose size or modification time
/// changed is read again.
#[allow(clippy::type_complexity)]
static MODELS: LazyLock<Mutex<HashMap<PathBuf, ((SystemTime, u64), Arc<Booster>)>>> =
    LazyLock::new(Default::default);

/// The model saved at `path` (XGBoost JSON), read once per process.
fn model(function: &str, path: &str) -> Result<Arc<Booster>> {
    let fail = |e: &dyn std::fmt::Display| exec_datafusion_err!("{function}: model '{path}': {e}");
    let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
    let stamp = (meta.modified().map_err(|e| fail(&e))?, meta.len());
    let key = PathBuf::from(path);
    let mut models = MODELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((seen, booster)) = models.get(&key) {
        if *seen == stamp {
            return Ok(Arc::clone(booster));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(&e))?;
    let booster = Arc::new(Booster::from_json(&text).map_err(|e| fail(&e))?);
    models.insert(key, (stamp, Arc::clone(&booster)));
    Ok(booster)
}

/// Checks the segments and `when` arguments, coercing `when`.
fn coerce_segments_when(
    function: &str,
    segments: &DataType,
    when: &DataType,
) -> Result<[DataType; 2]> {
    if !holds_segments(segments) {
        return plan_err!(
            "{function}: the first argument must be a ccdc result or its change_models, not {segments}"
        );
    }
    Ok([segments.clone(), coerce_when(function, when)?])
}

/// Coerces an auxiliary-values argument (a list of numbers per pixel) to `List<Float32>`.
fn coerce_aux(function: &str, position: usize, aux: &DataType) -> Result<DataType> {
    if !is_list(aux) {
        return plan_err!(
            "{function}: argument {position} (aux) must be a list of numbers, not {aux}"
        );
    }
    coerce_band(function, position, aux, &DataType::Float32)
}

/// Each row's values of a `List<Float32>` argument, `None` where null; an empty row where
/// the argument is absent.
fn float_rows(arg: Option<&ColumnarValue>, n: usize) -> Result<Vec<Option<Vec<f32>>>> {
    let Some(arg) = arg else {
        return Ok(vec![Some(Vec::new()); n]);
    };
    let array = arg.to_array(n)?;
    let list = array.as_list::<i32>();
    let values = list.values().as_primitive::<Float32Type>();
    Ok(row_ranges(list)
        .map(|r| {
            r.map(|r| {
                r.map(|k| {
                    if values.is_valid(k) {
                        values.value(k)
                    } else {
                        f32::NAN
                    }
                })
                .collect()
            })
        })
        .collect())
}

fn float_lists(rows: Vec<Option<Vec<f32>>>) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Float32Type, _, _>(
        rows.into_iter().map(|r| r.map(|v| v.into_iter().map(Some))),
    ))
}

macro_rules! udf_boilerplate {
    ($name:literal, $doc:ident) => {
        fn name(&self) -> &str {
            $name
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn documentation(&self) -> Option<&Documentation> {
            Some(&$doc)
        }
    };
}

/// `lc_features(segments, when [, aux])`: the classifier's features of the segment covering
/// `when` (a year, meaning July 1, or a date), LCMAP's 63 per segment after the optional
/// auxiliary values; null where no segment covers it. The rows to train a model on.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FeaturesUdf {
    signature: Signature,
}

/// `lc_predict(features, model)`: the class probabilities (9, LCMAP's classes 0-8) of a
/// features row from an XGBoost model saved as JSON, as XGBoost's own `predict` gives them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PredictUdf {
    signature: Signature,
}

/// `landcover(segments, when, model [, aux])`: LCMAP's five cover products at `when` as a
/// struct of `lcpri`, `lcsec`, `lcpconf`, `lcsconf`, `lcachg` (uint8), from the model's
/// probabilities of each segment on each July 1 it spans, with lcmap-gaia's rules.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LandcoverUdf {
    signature: Signature,
}

macro_rules! user_defined {
    ($($t:ident),*) => {$(
        impl $t {
            pub fn new() -> Self {
                Self { signature: Signature::user_defined(Volatility::Immutable) }
            }
        }
        impl Default for $t {
            fn default() -> Self {
                Self::new()
            }
        }
    )*};
}
user_defined!(FeaturesUdf, PredictUdf, LandcoverUdf);

static FEATURES_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "The land-cover classifier's features of the CCDC segment covering a date, as LCMAP's \
         lcmap-blackmagic made them: the optional auxiliary values, then per band (blue, \
         green, nir, red, swir1, swir2, thermal) the 7 coefficients, the RMSE and intercept + \
         slope x the date. Null where no segment covers the date.",
        "lc_features(segments, when [, aux])",
    )
    .with_sql_example(
        "SELECT l.label, lc_features(s.ccdc, DATE '2001-07-01') AS features FROM segments s \
         JOIN labels l ON s.px = l.px AND s.py = l.py",
    )
    .with_argument("segments", "A ccdc result, or its change_models list.")
    .with_argument("when", "A year (July 1 of it) or a date.")
    .with_argument(
        "aux",
        "Optional per-pixel list of auxiliary values (elevation, slope...).",
    )
    .build()
});

static PREDICT_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "Class probabilities of a features row from a multi-class XGBoost model saved as \
         JSON (Booster.save_model('model.json')), equal to XGBoost's predict.",
        "lc_predict(features, model)",
    )
    .with_sql_example(
        "SELECT lc_predict(lc_features(ccdc, 2010), '/models/h003v008.json') FROM segments",
    )
    .with_argument("features", "A list of numbers, as lc_features gives them.")
    .with_argument(
        "model",
        "The model file's path (on every executor), a constant.",
    )
    .build()
});

static LANDCOVER_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION,
        "LCMAP's five land-cover products at a date from a pixel's CCDC segments and a \
         classifier: lcpri and lcsec (primary and secondary class, 1 developed, 2 cropland, \
         3 grass/shrub, 4 tree cover, 5 water, 6 wetland, 7 ice/snow, 8 barren), lcpconf and \
         lcsconf (confidence: mean probability x 100, or provenance codes 151 growth, 152 \
         decline, 201 no model, 202 forwards, 211/212 gaps of the same/different class, 213 \
         before the first segment, 214 after the last break) and lcachg (last year's and this \
         year's class as two digits when they differ), with lcmap-gaia's rules.",
        "landcover(segments, when, model [, aux])",
    )
    .with_sql_example(
        "SELECT px, py, landcover(ccdc, 2015, '/models/h003v008.json').lcpri FROM segments",
    )
    .with_argument("segments", "A ccdc result, or its change_models list.")
    .with_argument("when", "A year (July 1 of it) or a date.")
    .with_argument(
        "model",
        "The model file's path (on every executor), a constant.",
    )
    .with_argument(
        "aux",
        "Optional per-pixel list of the auxiliary values the model was trained with.",
    )
    .build()
});

/// One of the five cover products: a field of `landcover`'s struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoverProduct {
    Lcpri,
    Lcsec,
    Lcpconf,
    Lcsconf,
    Lcachg,
}

impl CoverProduct {
    pub const ALL: [CoverProduct; 5] = [
        CoverProduct::Lcpri,
        CoverProduct::Lcsec,
        CoverProduct::Lcpconf,
        CoverProduct::Lcsconf,
        CoverProduct::Lcachg,
    ];

    /// The struct field's name, LCMAP's abbreviation in lower case.
    pub fn name(self) -> &'static str {
        match self {
            CoverProduct::Lcpri => "lcpri",
            CoverProduct::Lcsec => "lcsec",
            CoverProduct::Lcpconf => "lcpconf",
            CoverProduct::Lcsconf => "lcsconf",
            CoverProduct::Lcachg => "lcachg",
        }
    }

    /// The product's value in the kernel's result.
    fn of(self, p: &CoverProducts) -> u8 {
        match self {
            CoverProduct::Lcpri => p.lcpri,
            CoverProduct::Lcsec => p.lcsec,
            CoverProduct::Lcpconf => p.lcpconf,
            CoverProduct::Lcsconf => p.lcsconf,
            CoverProduct::Lcachg => p.lcachg,
        }
    }
}

fn cover_fields() -> Fields {
    CoverProduct::ALL
        .into_iter()
        .map(|p| Field::new(p.name(), DataType::UInt8, true))
        .collect()
}

impl ScalarUDFImpl for FeaturesUdf {
    udf_boilerplate!("lc_features", FEATURES_DOC);

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        match arg_types {
            [segments, when] => Ok(coerce_segments_when(name, segments, when)?.to_vec()),
            [segments, when, aux] => {
                let mut types = coerce_segments_when(name, segments, when)?.to_vec();
                types.push(coerce_aux(name, 3, aux)?);
                Ok(types)
            }
            _ => plan_err!(
                "{name} takes segments, when and optional aux, got {} arguments",
                arg_types.len()
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Float32))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let n = args.number_rows;
        let segments = args.args[0].to_array(n)?;
        let segments = Segments::new(name, &segments)?;
        let days = query_days(name, &args.args[1].to_array(n)?)?;
        let aux = float_rows(args.args.get(2), n)?;
        let rows = segments
            .rows()
            .zip(days)
            .zip(aux)
            .map(|((models, day), aux)| {
                let (Some(models), Some(day), Some(aux)) = (models?, day, aux) else {
                    return Ok(None);
                };
                Ok(models
                    .iter()
                    .find(|m| (m.start_day..=m.end_day).contains(&day))
                    .map(|m| features(m, day, &aux)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ColumnarValue::Array(float_lists(rows)))
    }
}

impl ScalarUDFImpl for PredictUdf {
    udf_boilerplate!("lc_predict", PREDICT_DOC);

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let [features, _model] = arg_types else {
            return plan_err!(
                "{name} takes features and model, got {} arguments",
                arg_types.len()
            );
        };
        Ok(vec![coerce_aux(name, 1, features)?, DataType::Utf8])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Float32))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let booster = model(name, constant_str(name, "model", &args.args[1])?)?;
        let rows = float_rows(args.args.first(), args.number_rows)?
            .into_iter()
            .enumerate()
            .map(|(row, features)| {
                features
                    .map(|f| booster.predict(&f))
                    .transpose()
                    .map_err(|e| exec_datafusion_err!("{name}: row {row}: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ColumnarValue::Array(float_lists(rows)))
    }
}

impl ScalarUDFImpl for LandcoverUdf {
    udf_boilerplate!("landcover", LANDCOVER_DOC);

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let (segments, when, rest) = match arg_types {
            [segments, when, rest @ ..] if (1..=2).contains(&rest.len()) => (segments, when, rest),
            _ => {
                return plan_err!(
                    "{name} takes segments, when, model and optional aux, got {} arguments",
                    arg_types.len()
                )
            }
        };
        let mut types = coerce_segments_when(name, segments, when)?.to_vec();
        types.push(DataType::Utf8);
        if let Some(aux) = rest.get(1) {
            types.push(coerce_aux(name, 4, aux)?);
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(cover_fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let n = args.number_rows;
        let booster = model(name, constant_str(name, "model", &args.args[2])?)?;
        let segments = args.args[0].to_array(n)?;
        let segments = Segments::new(name, &segments)?;
        let days = query_days(name, &args.args[1].to_array(n)?)?;
        let aux = float_rows(args.args.get(3), n)?;
        let pixels = segments
            .rows()
            .zip(days)
            .zip(aux)
            .map(|((models, day), aux)| Ok(models?.zip(day).zip(aux)))
            .collect::<Result<Vec<_>>>()?;
        // Only the segments the products read are classified, the whole batch's together: one
        // pass over the model.
        let read: Vec<_> = pixels
            .iter()
            .flatten()
            .map(|((models, day), aux)| (segments_read_at(models, *day, PREDICTION_DAY), aux))
            .collect();
        let inputs: Vec<_> = read
            .iter()
            .map(|(models, aux)| (models.as_slice(), aux.as_slice()))
            .collect();
        let mut classified = classify_pixels(&inputs, &booster, PREDICTION_DAY)
            .map_err(|e| exec_datafusion_err!("{name}: {e}"))?
            .into_iter();
        let products: Vec<Option<CoverProducts>> = pixels
            .iter()
            .map(|pixel| {
                let ((_, day), _) = pixel.as_ref()?;
                Some(cover_products(&classified.next()?, *day))
            })
            .collect();
        let columns = CoverProduct::ALL
            .into_iter()
            .map(|c| -> ArrayRef {
                let values: Vec<Option<u8>> = products
                    .iter()
                    .map(|p| p.as_ref().map(|p| c.of(p)))
                    .collect();
                Arc::new(UInt8Array::from(values))
            })
            .collect();
        let nulls = products.iter().map(Option::is_some).collect::<Vec<_>>();
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            cover_fields(),
            columns,
            Some(nulls.into()),
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_model_is_named() {
        let dir = std::env::temp_dir().join(format!("ardent-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notes.json");
        std::fs::write(&path, "{\"hello\": 1}").unwrap();
        let err = model("landcover", path.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("notes.json") && err.contains("not an XGBoost JSON model"),
            "{err}"
        );
        let err = model("landcover", "/no/such/model.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/model.json"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
