//! CCDC parity with pyccd 2021.7.19: the real Landsat pixels of pyccd's test data with pyccd's own
//! results (tests/data/pyccd-pixels), compared field by field.

use std::path::{Path, PathBuf};

use ardent_engine::ccdc::{to_pyccd_json, PixelCsv};
use ardent_udfs::kernels::ccdc::{detect, Params};
use ardent_udfs::kernels::qa::QaScheme;
use serde_json::Value;

use crate::common::*;

/// Where the reference pixels live in the repository.
pub fn reference_pixels() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pyccd-pixels")
}

/// Within 1e-4 relative or 0.01 absolute, the tolerance for fitted values.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.01 || (a - b).abs() <= 1e-4 * a.abs().max(b.abs())
}

/// Every way `ours` differs from `pyccd`'s result: model count, days, counts, curve QA, change
/// probability and processing mask exactly; fitted values and probabilities within tolerance.
pub fn differences(ours: &Value, pyccd: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if ours["processing_mask"] != pyccd["processing_mask"] {
        out.push("processing_mask differs".to_string());
    }
    for key in ["cloud_prob", "snow_prob", "water_prob"] {
        let (a, b) = (ours[key].as_f64().unwrap(), pyccd[key].as_f64().unwrap());
        if !close(a, b) {
            out.push(format!("{key}: {a} vs {b}"));
        }
    }
    let (a, b) = (
        ours["change_models"].as_array().unwrap(),
        pyccd["change_models"].as_array().unwrap(),
    );
    if a.len() != b.len() {
        out.push(format!("{} change models vs {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        for key in [
            "start_day",
            "end_day",
            "break_day",
            "observation_count",
            "curve_qa",
            "change_probability",
        ] {
            if x[key].as_f64() != y[key].as_f64() {
                out.push(format!("model {i} {key}: {} vs {}", x[key], y[key]));
            }
        }
        for band in ["blue", "green", "red", "nir", "swir1", "swir2", "thermal"] {
            let mut values = vec![];
            for key in ["rmse", "intercept", "magnitude"] {
                values.push((key.to_string(), &x[band][key], &y[band][key]));
            }
            let coefficients = x[band]["coefficients"].as_array().unwrap();
            for (j, c) in coefficients.iter().enumerate() {
                values.push((format!("coefficient {j}"), c, &y[band]["coefficients"][j]));
            }
            for (key, a, b) in values {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                if !close(a, b) {
                    out.push(format!("model {i} {band} {key}: {a} vs {b}"));
                }
            }
        }
    }
    out
}

/// The CSV files of a folder with a pyccd result beside them.
pub fn pixels_with_results(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|csv| {
            let json = csv.with_extension("pyccd.json");
            (csv, json)
        })
        .filter(|(_, json)| json.exists())
        .collect();
    pairs.sort();
    pairs
}

/// ardent's result for a pixel CSV, its QA coding named in the file name.
pub fn ardent_result(csv: &Path, params: &Params) -> Value {
    let name = csv.file_name().unwrap().to_string_lossy();
    let coding = if name.contains(".cfmask.") {
        QaScheme::Cfmask
    } else {
        QaScheme::C1
    };
    let pixel = PixelCsv::read(csv).unwrap();
    to_pyccd_json(&detect(&pixel.series(), coding, params).unwrap())
}

/// pyccd's parameters as recorded beside its result.
pub fn recorded_params(pyccd: &Value) -> Params {
    let mut merged = serde_json::to_value(Params::default()).unwrap();
    if let Some(overrides) = pyccd["_meta"]["params"].as_object() {
        merged.as_object_mut().unwrap().extend(overrides.clone());
    }
    serde_json::from_value(merged).unwrap()
}

#[test]
fn real_pixels_match_pyccd() {
    let pairs = pixels_with_results(&reference_pixels());
    assert_eq!(pairs.len(), 8);
    let mut failures = Vec::new();
    for (csv, json) in &pairs {
        let pyccd: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let ours = ardent_result(csv, &recorded_params(&pyccd));
        let diff = differences(&ours, &pyccd);
        if !diff.is_empty() {
            failures.push(format!("{}:\n  {}", csv.display(), diff.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cli_prints_pyccd_shaped_json() {
    let csv = reference_pixels().join("test_3657_3610_observations.cfmask.csv");
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("pixel.png");
    let o = ardent(&[
        "ccdc",
        "--csv",
        csv.to_str().unwrap(),
        "--qa",
        "cfmask",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A PNG of 1400 x 1600 px (width and height in its IHDR chunk), nothing left half-written.
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 1400);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 1600);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let ours: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let pyccd: Value =
        serde_json::from_str(&std::fs::read_to_string(csv.with_extension("pyccd.json")).unwrap())
            .unwrap();
    assert_eq!(differences(&ours, &pyccd), Vec::<String>::new());
    assert_eq!(ours["change_models"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_pixels_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let header = ardent_engine::ccdc::CSV_HEADER;
    let cases = [
        (write("missing.csv", ""), vec!["empty file"]),
        (write("header.csv", "date,blue\n1,2\n"), vec!["header"]),
        (
            write("short.csv", &format!("{header}\n730000,1,2,3\n")),
            vec!["line 2", "fields"],
        ),
        (
            write("text.csv", &format!("{header}\n730000,1,2,3,4,5,6,x,0\n")),
            vec!["line 2", "'x'"],
        ),
        (
            write("none.csv", &format!("{header}\n")),
            vec!["at least one observation"],
        ),
        (
            write("qa.csv", &format!("{header}\n730000,1,2,3,4,5,6,7,0\n")),
            vec!["unsupported bit-packed QA value 0"],
        ),
    ];
    for (path, expected) in cases {
        let o = ardent(&["ccdc", "--csv", &path]);
        assert_clean_failure(&o, &expected);
    }
    let csv = reference_pixels().join("sample_2.cfmask.csv");
    let csv = csv.to_str().unwrap();
    assert_clean_failure(
        &ardent(&[
            "ccdc",
            "--csv",
            csv,
            "--qa",
            "cfmask",
            "--params",
            "{\"MEOW\": 3}",
        ]),
        &["unknown field", "MEOW"],
    );
    assert_clean_failure(
        &ardent(&["ccdc", "--csv", csv, "--params", "[1]"]),
        &["JSON object"],
    );
    assert_clean_failure(
        &ardent(&["ccdc", "--csv", "/nonexistent.csv"]),
        &["/nonexistent.csv"],
    );
}

/// The pyccd pixel CSV as a table, and the SQL that gathers it into one series for `ccdc`.
async fn pixel_table(ctx: &datafusion::prelude::SessionContext, csv: &Path) {
    query(
        ctx,
        &format!(
            "CREATE EXTERNAL TABLE px STORED AS CSV LOCATION '{}' OPTIONS ('format.has_header' 'true')",
            csv.display()
        ),
    )
    .await;
}

const SERIES: &str = "array_agg(arrow_cast(CAST(ordinal_date - 719163 AS INT), 'Date32')), \
    array_agg(blue), array_agg(green), array_agg(red), array_agg(nir), array_agg(swir1), \
    array_agg(swir2), array_agg(thermal), array_agg(qa)";

#[tokio::test]
async fn the_udf_gives_pyccd_segments_in_sql() {
    let csv = reference_pixels().join("test_3657_3610_observations.cfmask.csv");
    let pyccd: Value =
        serde_json::from_str(&std::fs::read_to_string(csv.with_extension("pyccd.json")).unwrap())
            .unwrap();
    let ctx = session(2);
    pixel_table(&ctx, &csv).await;
    // LCMAP's segment table: one row per segment.
    let sql = format!(
        "WITH r AS (SELECT ccdc({SERIES}, '{{\"QA\": \"cfmask\"}}') AS c FROM px),
              s AS (SELECT unnest(c['change_models']) AS m, c['snow_prob'] AS snow FROM r)
         SELECT CAST(m['start_day'] AS BIGINT) + 719163 AS sday, CAST(m['end_day'] AS BIGINT) + 719163 AS eday,
                CAST(m['break_day'] AS BIGINT) + 719163 AS bday, m['change_probability'] AS chprob,
                m['curve_qa'] AS curqa, m['nir']['magnitude'] AS nirmag, m['nir']['rmse'] AS nirrmse,
                m['nir']['coefficients'] AS nircoef, m['nir']['intercept'] AS nirint, snow
         FROM s ORDER BY sday"
    );
    let batches = query(&ctx, &sql).await;
    let table = datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let models = pyccd["change_models"].as_array().unwrap();
    assert_eq!(table.num_rows(), models.len());
    let int = |c: &str, row: usize| {
        datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(
            table.column_by_name(c).unwrap(),
        )
        .value(row)
    };
    let float = |c: &str, row: usize| {
        datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Float64Type>(
            table.column_by_name(c).unwrap(),
        )
        .value(row)
    };
    for (row, m) in models.iter().enumerate() {
        assert_eq!(int("sday", row), m["start_day"].as_i64().unwrap());
        assert_eq!(int("eday", row), m["end_day"].as_i64().unwrap());
        assert_eq!(int("bday", row), m["break_day"].as_i64().unwrap());
        assert_eq!(
            float("chprob", row),
            m["change_probability"].as_f64().unwrap()
        );
        assert!(close(
            float("nirrmse", row),
            m["nir"]["rmse"].as_f64().unwrap()
        ));
        assert!(close(
            float("nirint", row),
            m["nir"]["intercept"].as_f64().unwrap()
        ));
    }
    assert!(close(
        float("snow", 0),
        pyccd["snow_prob"].as_f64().unwrap()
    ));
}

#[tokio::test]
async fn the_udf_names_bad_input() {
    let csv = reference_pixels().join("sample_2.cfmask.csv");
    let ctx = session(1);
    pixel_table(&ctx, &csv).await;
    for (sql, expected) in [
        (format!("SELECT ccdc({SERIES}, 'nope') FROM px"), "not JSON"),
        (
            format!("SELECT ccdc({SERIES}, '{{\"QA\": \"c9\"}}') FROM px"),
            "unknown QA scheme 'c9'",
        ),
        (
            format!("SELECT ccdc({SERIES}) FROM px"),
            "unsupported bit-packed QA value",
        ),
        (
            "SELECT ccdc(array_agg(arrow_cast(1, 'Date32')), array_agg(blue)) FROM px".to_string(),
            "takes dates",
        ),
    ] {
        let err = async { ctx.sql(&sql).await?.collect().await }
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{sql}: {err}");
    }
    // Lists of unequal length are named.
    let sql = format!(
        "SELECT ccdc({}, array_agg(qa) FILTER (WHERE qa = 0)) FROM px",
        SERIES.replace(", array_agg(qa)", "")
    );
    let err = async { ctx.sql(&sql).await?.collect().await }
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unequal length"), "{err}");
}

/// pyccd itself, run on 200 generated pixels covering breaks, stable land, heavy cloud, snow,
/// fill, short and long series and duplicate dates: ardent must give its answer on at least 99%.
#[test]
fn generated_pixels_match_live_pyccd() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pyccd/generate.py");
    let o = std::process::Command::new(python())
        .args(["-W", "ignore"])
        .arg(&script)
        .arg(dir.path())
        .args(["--count", "200", "--seed", "7"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pairs = pixels_with_results(dir.path());
    assert_eq!(pairs.len(), 200);
    let mut differing = Vec::new();
    let mut curve_qa = std::collections::BTreeSet::new();
    let mut most_segments = 0;
    for (csv, json) in &pairs {
        let pyccd: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let models = pyccd["change_models"].as_array().unwrap();
        most_segments = most_segments.max(models.len());
        curve_qa.extend(models.iter().map(|m| m["curve_qa"].as_i64().unwrap()));
        let diff = differences(&ardent_result(csv, &recorded_params(&pyccd)), &pyccd);
        if !diff.is_empty() {
            differing.push(format!(
                "{}:\n  {}\ninputs:\n{}",
                csv.display(),
                diff.join("\n  "),
                std::fs::read_to_string(csv).unwrap()
            ));
        }
    }
    // No allowance: every one of the 200 pixels gives pyccd's answer, within the tolerances of
    // `differences` for fitted values.
    assert!(
        differing.is_empty(),
        "{} of 200 pixels differ from pyccd:\n{}",
        differing.len(),
        differing.join("\n")
    );
    // The regimes were really exercised: 6- and 8-coefficient segments, end catches, both
    // single-model procedures, and series with several segments.
    for code in [6, 8, 24, 44, 54] {
        assert!(
            curve_qa.contains(&code),
            "no segment with curve_qa {code}: {curve_qa:?}"
        );
    }
    assert!(most_segments >= 3);
}

/// `ccdc` orders each pixel's observations by date itself, as pyccd's `detect` does: lists
/// gathered by `array_agg` without `ORDER BY` (one pass, no sort per aggregate) give the answer
/// of lists in date order, and of the `pixels` layout.
#[tokio::test]
async fn unordered_observations_give_the_ordered_answer() {
    let ctx = session(1);
    let dir = tempfile::tempdir().unwrap();
    let shuffled = dir.path().join("shuffled.parquet");
    let location = stack().display();
    query(&ctx, &format!("CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' 'observations')")).await;
    query(
        &ctx,
        &format!("CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{location}'"),
    )
    .await;
    // The observations of 60 pixels, written in an order that is not by date.
    query(&ctx, &format!(
        "COPY (SELECT * FROM obs WHERE row < 2 ORDER BY md5(concat(date, '/', row, '/', col))) TO '{}' STORED AS PARQUET",
        shuffled.display()
    )).await;
    query(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE shuffled STORED AS PARQUET LOCATION '{}'",
            shuffled.display()
        ),
    )
    .await;
    let unsorted = scalar(
        &ctx,
        "SELECT count(*) FROM (SELECT array_agg(date) AS d FROM shuffled GROUP BY row, col) WHERE d <> array_sort(d)",
    )
    .await;
    assert_ne!(unsorted, "0", "the input is not in date order");

    let bands = [
        "blue", "green", "red", "nir", "swir1", "swir2", "thermal", "qa",
    ];
    let lists = |order: &str| {
        std::iter::once(format!("array_agg(date{order})"))
            .chain(bands.iter().map(|b| format!("array_agg({b}{order})")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let summary = "cardinality(c['change_models']) AS segments, c['processing_mask'] AS mask, \
                   c['change_models'][1]['start_day'] AS sday, c['change_models'][1]['break_day'] AS bday, \
                   round(c['change_models'][1]['nir']['rmse'], 6) AS rmse, round(c['cloud_prob'], 9) AS cloud";
    let grouped = |order: &str| {
        format!(
            "SELECT row, col, {summary} FROM (SELECT row, col, ccdc({}) AS c FROM shuffled GROUP BY row, col) ORDER BY row, col",
            lists(order)
        )
    };
    let unordered = pretty(&query(&ctx, &grouped("")).await);
    let ordered = pretty(&query(&ctx, &grouped(" ORDER BY date")).await);
    assert_eq!(unordered, ordered);
    let from_pixels = pretty(
        &query(
            &ctx,
            &format!(
                "SELECT row, col, {summary} FROM (SELECT row, col, ccdc(dates, {}) AS c FROM pix WHERE row < 2) ORDER BY row, col",
                bands.join(", ")
            ),
        )
        .await,
    );
    assert_eq!(unordered, from_pixels);
    assert_eq!(rows(&query(&ctx, &grouped("")).await), 2 * SIZE);
}
