//! CCDC parity with pyccd 2021.7.19: the real Landsat pixels of pyccd's test data with pyccd's own
//! results (tests/data/pyccd-pixels), compared field by field.

use std::path::{Path, PathBuf};

use ardent_engine::ccdc::{read_pyccd_json, to_pyccd_json, PixelCsv};
use ardent_udfs::kernels::ccdc::{detect, update, Params};
use ardent_udfs::kernels::qa::QaScheme;
use serde_json::Value;

use crate::common::*;

/// Where the reference pixels live in the repository.
pub fn reference_pixels() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pyccd-pixels")
}

/// Within 1e-4 relative or 0.01 absolute, the issue's tolerance for fitted values.
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

/// ardent's result for a pixel CSV, its QA coding named in the file name: the update of the
/// earlier result in NAME.prev.json beside it, if there is one.
pub fn ardent_result(csv: &Path, params: &Params) -> Value {
    let name = csv.file_name().unwrap().to_string_lossy();
    let coding = if name.contains(".cfmask.") {
        QaScheme::Cfmask
    } else {
        QaScheme::C1
    };
    let pixel = PixelCsv::read(csv).unwrap();
    let previous = csv.with_extension("prev.json");
    let result = match previous.exists() {
        true => update(
            &read_pyccd_json(&previous).unwrap(),
            &pixel.series(),
            coding,
            params,
        ),
        false => detect(&pixel.series(), coding, params),
    };
    to_pyccd_json(&result.unwrap())
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

/// A null band or QA value leaves its observation out: the result is the one over the
/// lists without those observations.
#[tokio::test]
async fn observations_with_a_null_value_are_left_out() {
    let csv = reference_pixels().join("sample_2.cfmask.csv");
    let ctx = session(1);
    pixel_table(&ctx, &csv).await;
    let left_out = "ordinal_date % 5 = 0";
    let cfmask = r#"'{"QA": "cfmask"}'"#;
    let without = query(
        &ctx,
        &format!("SELECT ccdc({SERIES}, {cfmask}) AS c FROM px WHERE NOT ({left_out})"),
    )
    .await;
    for column in ["blue", "thermal", "qa"] {
        let nulled = SERIES.replace(
            &format!("array_agg({column})"),
            &format!("array_agg(CASE WHEN {left_out} THEN NULL ELSE {column} END)"),
        );
        let with_nulls = query(
            &ctx,
            &format!("SELECT ccdc({nulled}, {cfmask}) AS c FROM px"),
        )
        .await;
        assert_eq!(pretty(&with_nulls), pretty(&without), "{column}");
    }
    // And the nulls did leave something out.
    let all = query(
        &ctx,
        &format!("SELECT ccdc({SERIES}, {cfmask}) AS c FROM px"),
    )
    .await;
    assert_ne!(pretty(&all), pretty(&without));
}

/// Writes `count` generated pixels and pyccd's results on them into `dir` (tests/pyccd/generate.py).
fn generate_pixels(dir: &Path, count: usize, seed: u64) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pyccd/generate.py");
    let o = std::process::Command::new(python())
        .args(["-W", "ignore"])
        .arg(&script)
        .arg(dir)
        .args(["--count", &count.to_string(), "--seed", &seed.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The pixels (pairs of CSV and pyccd result) where ardent's answer differs from pyccd's, with
/// the differences and the inputs.
fn differing_pixels(pairs: &[(PathBuf, PathBuf)]) -> Vec<String> {
    let mut differing = Vec::new();
    for (csv, json) in pairs {
        let pyccd: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
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
    differing
}

/// pyccd itself, run on 200 generated pixels covering breaks, stable land, heavy cloud, snow,
/// fill, short and long series and duplicate dates: ardent must give its answer on every one.
#[test]
fn generated_pixels_match_live_pyccd() {
    let dir = tempfile::tempdir().unwrap();
    generate_pixels(dir.path(), 200, 7);
    let pairs = pixels_with_results(dir.path());
    assert_eq!(pairs.len(), 200);
    let mut curve_qa = std::collections::BTreeSet::new();
    let mut most_segments = 0;
    for (_, json) in &pairs {
        let pyccd: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let models = pyccd["change_models"].as_array().unwrap();
        most_segments = most_segments.max(models.len());
        curve_qa.extend(models.iter().map(|m| m["curve_qa"].as_i64().unwrap()));
    }
    // No allowance: every one of the 200 pixels gives pyccd's answer, within the tolerances of
    // `differences` for fitted values.
    let differing = differing_pixels(&pairs);
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

/// The annual update: the real pixels and 60 generated ones, cut 3/4 of the way through and
/// extended, updated by pyccd's `prev_results` live (tests/pyccd/update.py) and by ardent.
#[test]
fn annual_update_matches_live_pyccd() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated");
    generate_pixels(&generated, 60, 11);
    let updated = dir.path().join("updated");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pyccd/update.py");
    let o = std::process::Command::new(python())
        .args(["-W", "ignore"])
        .arg(&script)
        .arg(&updated)
        .arg(&generated)
        .arg(reference_pixels())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pairs = pixels_with_results(&updated);
    assert_eq!(
        pairs.len(),
        60 + pixels_with_results(&reference_pixels()).len()
    );
    let differing = differing_pixels(&pairs);
    assert!(
        differing.is_empty(),
        "{} of {} updates differ from pyccd:\n{}",
        differing.len(),
        pairs.len(),
        differing.join("\n")
    );
    // ardent's own result on the cut series carries where its detection ran out; the update
    // continues from there instead of the last break, and must still give pyccd's answer.
    let mut continued = 0;
    let mut differing = Vec::new();
    for (csv, json) in &pairs {
        let pyccd: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let params = recorded_params(&pyccd);
        let cut = pyccd["_meta"]["cut"].as_i64().unwrap();
        let scheme = if csv.to_string_lossy().contains(".cfmask.") {
            QaScheme::Cfmask
        } else {
            QaScheme::C1
        };
        let pixel = PixelCsv::read(csv).unwrap();
        let before: Vec<usize> = (0..pixel.dates.len())
            .filter(|&i| pixel.dates[i] <= cut)
            .collect();
        let old = PixelCsv {
            dates: before.iter().map(|&i| pixel.dates[i]).collect(),
            bands: std::array::from_fn(|b| before.iter().map(|&i| pixel.bands[b][i]).collect()),
            qa: before.iter().map(|&i| pixel.qa[i]).collect(),
        };
        let previous = detect(&old.series(), scheme, &params).unwrap();
        continued += usize::from(previous.continuation.is_some());
        let ours = to_pyccd_json(&update(&previous, &pixel.series(), scheme, &params).unwrap());
        let diff = differences(&ours, &pyccd);
        if !diff.is_empty() {
            differing.push(format!("{}: {}", csv.display(), diff.join("; ")));
        }
    }
    assert!(
        differing.is_empty(),
        "{} of {} continued updates differ from pyccd:\n{}",
        differing.len(),
        pairs.len(),
        differing.join("\n")
    );
    assert!(continued * 2 >= pairs.len(), "{continued} continued");

    // Updates that keep segments before a confirmed break, and updates that find new breaks.
    let (mut resumed, mut grew) = (0, 0);
    for (csv, json) in &pairs {
        let previous = read_pyccd_json(&csv.with_extension("prev.json")).unwrap();
        let after = read_pyccd_json(json).unwrap();
        let breaks = |r: &ardent_udfs::kernels::ccdc::CcdResult| {
            r.change_models
                .iter()
                .filter(|m| m.change_probability == 1.0)
                .count()
        };
        resumed += usize::from(breaks(&previous) > 0);
        grew += usize::from(breaks(&after) > breaks(&previous));
    }
    assert!(resumed >= 10 && grew >= 3, "resumed {resumed}, grew {grew}");
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

/// `ccdc_update` in SQL: a segment table stored from the observations up to 2016, updated over
/// the stack with 2017 added. Segments up to each pixel's last confirmed break come through as
/// they were stored; a pixel without a confirmed break (or without a stored result) is detected
/// afresh, so its update is exactly `ccdc` over the whole series.
#[tokio::test]
async fn ccdc_update_continues_a_stored_segment_table() {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;

    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack");
    write_stack(&stack, 24, (2013, 1, 1), (2017, 12, 31));
    let ctx = session(2);
    // STAT_ORD at the stored run's end (2016-12-31) freezes the one-time statistics.
    let params = r#"'{"STAT_ORD": 736329}'"#;
    let bands = "blue, green, red, nir, swir1, swir2, thermal, qa";
    let aggregated: Vec<String> = std::iter::once("date")
        .chain(bands.split(", "))
        .map(|b| format!("array_agg({b})"))
        .collect();
    let old = dir.path().join("old.parquet");
    query(
        &ctx,
        &format!(
            "COPY (SELECT row, col, ccdc({}, {params}) AS ccdc \
             FROM raster_observations('{}') WHERE date <= DATE '2016-12-31' GROUP BY row, col) \
             TO '{}' STORED AS PARQUET",
            aggregated.join(", "),
            stack.display(),
            old.display()
        ),
    )
    .await;
    // Pixel (0, 0) has no stored result: the LEFT JOIN gives a null previous.
    let batches = query(
        &ctx,
        &format!(
            "SELECT o.ccdc AS old, ccdc_update(o.ccdc, p.dates, {bands}, {params}) AS updated, \
             ccdc(p.dates, {bands}, {params}) AS fresh \
             FROM raster_pixels('{}') p LEFT JOIN (SELECT * FROM '{}' WHERE row + col > 0) o \
             ON p.row = o.row AND p.col = o.col",
            stack.display(),
            old.display()
        ),
    )
    .await;
    let (mut resumed, mut afresh) = (0, 0);
    for batch in &batches {
        let column = |name: &str| batch.column_by_name(name).unwrap().as_struct().clone();
        let (old, updated, fresh) = (column("old"), column("updated"), column("fresh"));
        let models = |s: &datafusion::arrow::array::StructArray| {
            s.column_by_name("change_models")
                .unwrap()
                .as_list::<i32>()
                .clone()
        };
        let (old_models, updated_models) = (models(&old), models(&updated));
        for row in 0..batch.num_rows() {
            let kept = if old.is_valid(row) {
                let segments = old_models.value(row);
                let probability = segments
                    .as_struct()
                    .column_by_name("change_probability")
                    .unwrap()
                    .as_primitive::<Float64Type>()
                    .clone();
                probability
                    .iter()
                    .rposition(|p| p == Some(1.0))
                    .map_or(0, |last| last + 1)
            } else {
                0
            };
            if kept > 0 {
                let stored = old_models.value(row).slice(0, kept).to_data();
                let now = updated_models.value(row).slice(0, kept).to_data();
                assert_eq!(stored, now, "row {row}: stored segments changed");
                resumed += 1;
            } else {
                assert_eq!(
                    updated.slice(row, 1).to_data(),
                    fresh.slice(row, 1).to_data(),
                    "row {row}: detected afresh"
                );
                afresh += 1;
            }
        }
    }
    assert_eq!(resumed + afresh, 24 * 24);
    assert!(
        resumed > 0 && afresh > 0,
        "{resumed} resumed, {afresh} afresh"
    );

    // What is not a previous result is refused, naming the argument.
    let err = ctx
        .sql(&format!(
            "SELECT ccdc_update(1, dates, {bands}) FROM raster_pixels('{}')",
            stack.display()
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be a previous ccdc result"), "{err}");
    let err = execution_error(
        &ctx,
        &format!(
            "SELECT ccdc_update(o.ccdc['change_models'], p.dates, {bands}) \
             FROM raster_pixels('{}') p JOIN '{}' o ON p.row = o.row AND p.col = o.col",
            stack.display(),
            old.display()
        ),
    )
    .await;
    assert!(err.contains("with its processing_mask"), "{err}");
}
