//! Collection 2 ARD input: C2 names, UInt16 digital numbers scaled to Collection 1's units,
//! `QA_PIXEL` decoded with the `c2` scheme by default.

use std::path::Path;

use ardent_engine::ard::Collection;
use ardent_engine::synth::{generate, SynthConfig};
use chrono::NaiveDate;

use crate::common::*;

/// The same synthetic landscape and observations, written as each collection.
fn twin_stacks(dir: &Path, size: usize) -> (String, String) {
    let paths: Vec<String> = Collection::ALL
        .into_iter()
        .map(|collection| {
            let out = dir.join(collection.name());
            let config = SynthConfig {
                out: out.clone(),
                collection,
                size,
                start: NaiveDate::from_ymd_opt(2014, 1, 1).unwrap(),
                end: NaiveDate::from_ymd_opt(2015, 12, 31).unwrap(),
                ..SynthConfig::default()
            };
            generate(&config, &|_, _| {}).unwrap();
            out.display().to_string()
        })
        .collect();
    (paths[0].clone(), paths[1].clone())
}

#[tokio::test]
async fn a_collection_2_stack_reads_as_the_same_data_in_collection_1() {
    let dir = tempfile::tempdir().unwrap();
    let (c1, c2) = twin_stacks(dir.path(), 12);
    let names: Vec<String> = std::fs::read_dir(&c2)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".TIF"))
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("_02_QA_PIXEL.TIF"))
            && names.iter().any(|n| n.ends_with("_02_BT_B10.TIF")),
        "{names:?}"
    );
    let ctx = session(2);
    let table = |stack: &str, scheme: &str| {
        format!(
            "SELECT px, py, date, blue, green, red, nir, swir1, swir2, thermal, \
             qa_class(qa, '{scheme}') AS class \
             FROM raster_observations('{stack}') ORDER BY px, py, date"
        )
    };
    let from_c1 = pretty(&query(&ctx, &table(&c1, "c1")).await);
    let from_c2 = pretty(&query(&ctx, &table(&c2, "c2")).await);
    assert_eq!(from_c1, from_c2);
    assert!(from_c1.contains("| clear") && from_c1.contains("| cloud"));

    // CCDC decodes the C2 stack's QA_PIXEL with the c2 scheme unasked, and gives C1's answer.
    let ccdc = |stack: &str, params: &str| {
        format!(
            "SELECT px, py, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa{params}) \
             AS r FROM raster_pixels('{stack}') ORDER BY px, py"
        )
    };
    let ccdc_c1 = pretty(&query(&ctx, &ccdc(&c1, "")).await);
    assert_eq!(ccdc_c1, pretty(&query(&ctx, &ccdc(&c2, "")).await));
    // Read as C1 bits, the same values mean something else.
    let forced = pretty(&query(&ctx, &ccdc(&c2, r#", '{"QA": "c1"}'"#)).await);
    assert_ne!(ccdc_c1, forced);
}

#[tokio::test]
async fn a_stack_mixing_collections_is_refused_naming_a_file_of_each() {
    let dir = tempfile::tempdir().unwrap();
    let (c1, c2) = twin_stacks(dir.path(), 4);
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    for stack in [&c1, &c2] {
        for entry in std::fs::read_dir(stack).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("tif"))
            {
                std::fs::copy(&path, mixed.join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    let ctx = session(1);
    let err = ctx
        .sql(&format!(
            "SELECT count(*) FROM raster_observations('{}')",
            mixed.display()
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mixes ARD collections") && err.contains("_C01_V01_") && err.contains("_02_"),
        "{err}"
    );
}

#[test]
fn the_cli_writes_a_collection_2_stack() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c2");
    let run = ardent(&[
        "synth",
        "--collection",
        "c2",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "6",
        "--start",
        "2022-01-01",
        "--end",
        "2022-02-28",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("LC09_CU_003008_2022")),
        "Landsat 9 flies in 2022: {names:?}"
    );
    let bad = ardent(&["synth", "--collection", "c3", "--out", "x"]);
    assert_clean_failure(&bad, &["'c3'", "'c1' or 'c2'"]);
}
