//! Land cover end to end: training rows from a synthetic stack's NLCD labels (`ardent training`),
//! an XGBoost model trained by `python -m ardent.landcover`, its probabilities in SQL
//! (`lc_predict`) equal to XGBoost's own, and the cover products written by `ardent products
//! --model` equal to `landcover` in SQL and true to the generator's land cover.

use std::path::Path;

use ardent_engine::gdal_io::RasterFile;
use ardent_engine::grid::Window;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Float32Type, Int32Type, UInt8Type};

use crate::common::*;

const SIDE: usize = 24;

/// Runs `python -m ardent.landcover` with the repository's client on the path.
fn landcover_py(args: &[&str]) -> std::process::Output {
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python");
    std::process::Command::new(python())
        .args(["-W", "ignore", "-m", "ardent.landcover"])
        .args(args)
        .env("PYTHONPATH", client)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_model_trained_in_python_classifies_in_sql_and_in_products() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let stack = path("stack");
    write_stack(Path::new(&stack), SIDE, (2013, 1, 1), (2016, 12, 31));
    let segments = path("ccdc.parquet");
    let copy = ardent(&[
        "sql",
        &format!(
            "COPY (SELECT row, col, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) \
             AS ccdc FROM raster_pixels('{stack}')) TO '{segments}' STORED AS PARQUET"
        ),
    ]);
    assert!(copy.status.success(), "{}", stderr(&copy));

    let (labels, training) = (format!("{stack}/labels.tif"), path("training.parquet"));
    let run = ardent(&[
        "training",
        "--stack",
        &stack,
        "--segments",
        &segments,
        "--labels",
        &labels,
        "--date",
        "2013-07-01",
        "--out",
        &training,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("training rows"), "{}", stdout(&run));

    let model = path("landcover.json");
    let train = landcover_py(&["train", &training, &model, "--rounds", "40"]);
    assert!(train.status.success(), "{}", stderr(&train));

    // XGBoost's own probabilities for the training rows, and ardent's, row by row.
    let expected = path("xgboost.csv");
    let predict = landcover_py(&["predict", &model, &training, &expected]);
    assert!(predict.status.success(), "{}", stderr(&predict));
    let ctx = session(2);
    let ours = query(
        &ctx,
        &format!(
            "SELECT row, col, lc_predict(features, '{model}') AS p FROM '{training}' \
             ORDER BY row, col"
        ),
    )
    .await;
    let mut theirs = std::fs::read_to_string(&expected).unwrap();
    theirs = theirs.split_once('\n').unwrap().1.to_string();
    let mut lines = theirs.lines();
    let (mut compared, mut worst) = (0, 0f32);
    for batch in &ours {
        let rows = batch.column(0).as_primitive::<Int32Type>();
        let cols = batch.column(1).as_primitive::<Int32Type>();
        let probabilities = batch.column(2).as_list::<i32>();
        for i in 0..batch.num_rows() {
            let line: Vec<&str> = lines.next().expect("as many rows").split(',').collect();
            assert_eq!(
                (
                    line[0].parse::<i32>().unwrap(),
                    line[1].parse::<i32>().unwrap()
                ),
                (rows.value(i), cols.value(i))
            );
            let p = probabilities.value(i);
            let p = p.as_primitive::<Float32Type>();
            assert_eq!(p.len(), 9);
            for (c, text) in line[2..].iter().enumerate() {
                worst = worst.max((p.value(c) - text.parse::<f32>().unwrap()).abs());
            }
            compared += 1;
        }
    }
    assert!(lines.next().is_none());
    assert!(compared > SIDE * SIDE / 2, "{compared} training rows");
    assert!(worst <= 1e-6, "probabilities differ by up to {worst}");

    // The ten products; the cover ones hold what `landcover` gives in SQL.
    let out = path("products");
    let run = ardent(&[
        "products",
        "--stack",
        &stack,
        "--segments",
        &segments,
        "--model",
        &model,
        "--years",
        "2015",
        "--out",
        &out,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let written = geotiffs(Path::new(&out));
    assert_eq!(written.len(), 10, "{written:?}");
    let cover = query(
        &ctx,
        &format!(
            "SELECT row, col, c['lcpri'] AS lcpri, c['lcsec'] AS lcsec, c['lcpconf'] AS lcpconf, \
             c['lcsconf'] AS lcsconf, c['lcachg'] AS lcachg \
             FROM (SELECT row, col, landcover(ccdc, 2015, '{model}') AS c FROM '{segments}')"
        ),
    )
    .await;
    let window = Window {
        col: 0,
        row: 0,
        width: SIDE,
        height: SIDE,
    };
    let raster = |product: &str| {
        let file = RasterFile::open(&format!("{out}/LCMAP_CU_003008_2015_{product}.tif")).unwrap();
        let mut values = vec![0u8; SIDE * SIDE];
        file.read_window(window, &mut values).unwrap();
        values
    };
    let label_file = RasterFile::open(&labels).unwrap();
    let mut nlcd = vec![0u8; SIDE * SIDE];
    label_file.read_window(window, &mut nlcd).unwrap();
    let mut agree = 0;
    for product in ["lcpri", "lcsec", "lcpconf", "lcsconf", "lcachg"] {
        let values = raster(&product.to_ascii_uppercase());
        for batch in &cover {
            let rows = batch.column(0).as_primitive::<Int32Type>();
            let cols = batch.column(1).as_primitive::<Int32Type>();
            let column = batch
                .column_by_name(product)
                .unwrap()
                .as_primitive::<UInt8Type>();
            for i in 0..batch.num_rows() {
                let at = rows.value(i) as usize * SIDE + cols.value(i) as usize;
                assert_eq!(values[at], column.value(i), "{product} at {at}");
                if product == "lcpri" {
                    let label = ardent_udfs::kernels::cover::nlcd_class(i64::from(nlcd[at]));
                    agree += usize::from(label == column.value(i));
                }
            }
        }
    }
    // Most pixels keep the cover they were labelled with; the classifier finds it.
    assert!(
        agree * 10 >= SIDE * SIDE * 7,
        "LCPRI agrees with the labels on {agree} pixels"
    );

    // A model file that is not a model: one clear error naming it, no product written.
    let bogus = path("notes.json");
    std::fs::write(&bogus, r#"{"notes": "not a model"}"#).unwrap();
    let elsewhere = path("nothing");
    assert_clean_failure(
        &ardent(&[
            "products",
            "--stack",
            &stack,
            "--segments",
            &segments,
            "--model",
            &bogus,
            "--years",
            "2015",
            "--out",
            &elsewhere,
        ]),
        &["notes.json", "not an XGBoost JSON model"],
    );
    assert!(!Path::new(&elsewhere).exists());
    let err = execution_error(
        &ctx,
        &format!("SELECT lc_predict(features, '{bogus}') FROM '{training}'"),
    )
    .await;
    assert!(
        err.contains("notes.json") && err.contains("not an XGBoost JSON model"),
        "{err}"
    );

    // An auxiliary layer (the stack's elevation) before the segment features: 64 per row; the
    // products need the same layer, and say so when it is missing.
    let elevation = format!("{stack}/elevation.tif");
    let (aux_training, aux_model) = (path("aux.parquet"), path("aux.json"));
    let run = ardent(&[
        "training",
        "--stack",
        &stack,
        "--segments",
        &segments,
        "--labels",
        &labels,
        "--aux",
        &elevation,
        "--date",
        "2013-07-01",
        "--out",
        &aux_training,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let width = scalar(
        &ctx,
        &format!("SELECT max(cardinality(features)) FROM '{aux_training}'"),
    )
    .await;
    assert_eq!(width, "64");
    let train = landcover_py(&["train", &aux_training, &aux_model, "--rounds", "10"]);
    assert!(train.status.success(), "{}", stderr(&train));
    let aux_out = path("aux_products");
    let run = ardent(&[
        "products",
        "--stack",
        &stack,
        "--segments",
        &segments,
        "--model",
        &aux_model,
        "--aux",
        &elevation,
        "--years",
        "2015",
        "--out",
        &aux_out,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(geotiffs(Path::new(&aux_out)).len(), 10);
    assert_clean_failure(
        &ardent(&[
            "products",
            "--stack",
            &stack,
            "--segments",
            &segments,
            "--model",
            &aux_model,
            "--years",
            "2015",
            "--out",
            &elsewhere,
        ]),
        &["aux.json", "takes 64 features", "0 auxiliary layers"],
    );
    assert!(!Path::new(&elsewhere).exists());

    // Labels on another grid (a smaller stack's): one clear error naming the file.
    let other = path("other");
    write_stack(Path::new(&other), SIDE / 2, (2013, 1, 1), (2013, 12, 31));
    let bad_training = path("bad.parquet");
    assert_clean_failure(
        &ardent(&[
            "training",
            "--stack",
            &stack,
            "--segments",
            &segments,
            "--labels",
            &format!("{other}/labels.tif"),
            "--date",
            "2013-07-01",
            "--out",
            &bad_training,
        ]),
        &["labels.tif", "not on the stack's grid"],
    );
    assert!(!Path::new(&bad_training).exists());
    // A training date no segment covers.
    assert_clean_failure(
        &ardent(&[
            "training",
            "--stack",
            &stack,
            "--segments",
            &segments,
            "--labels",
            &labels,
            "--date",
            "1990-07-01",
            "--out",
            &bad_training,
        ]),
        &["1990-07-01"],
    );
    assert!(!Path::new(&bad_training).exists());
}
