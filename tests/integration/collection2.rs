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

/// A STAC ItemCollection over the files of a Collection 2 stack, one item per acquisition as
/// LandsatLook's `landsat-c2ard-sr` publishes them (plus thermal), with hrefs relative to the
/// file but for one absolute, and a thumbnail asset that is no band.
fn item_collection(stack: &Path, drop_qa_of_first: bool) -> serde_json::Value {
    let mut items: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>> =
        Default::default();
    let mut names: Vec<String> = std::fs::read_dir(stack)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".TIF"))
        .collect();
    names.sort();
    for (i, name) in names.iter().enumerate() {
        let (id, layer) = name.trim_end_matches(".TIF").split_once("_02_").unwrap();
        let key = match layer {
            "QA_PIXEL" => "qa_pixel".to_string(),
            other => other.to_ascii_lowercase(),
        };
        let href = if i == 0 {
            stack.join(name).display().to_string()
        } else {
            format!("./{name}")
        };
        let assets = items.entry(format!("{id}_02_SR")).or_default();
        assets.insert(
            key,
            serde_json::json!({ "href": href, "type": "image/tiff" }),
        );
        assets.insert(
            "thumbnail".into(),
            serde_json::json!({ "href": format!("./{id}_thumb.jpeg") }),
        );
    }
    if drop_qa_of_first {
        items.values_mut().next().unwrap().remove("qa_pixel");
    }
    let features: Vec<serde_json::Value> = items
        .into_iter()
        .map(|(id, assets)| {
            serde_json::json!({ "type": "Feature", "stac_version": "1.0.0", "id": id, "assets": assets })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features })
}

#[tokio::test]
async fn a_stac_item_collection_gives_the_same_table_as_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (_, c2) = twin_stacks(dir.path(), 6);
    let c2 = Path::new(&c2);
    let items = c2.join("items.json");
    std::fs::write(&items, item_collection(c2, false).to_string()).unwrap();
    let ctx = session(2);
    let table = |location: &str| {
        format!(
            "SELECT px, py, date, blue, thermal, qa FROM raster_observations('{location}') \
             ORDER BY px, py, date"
        )
    };
    let from_folder = pretty(&query(&ctx, &table(&c2.display().to_string())).await);
    assert_eq!(
        pretty(&query(&ctx, &table(&items.display().to_string())).await),
        from_folder
    );

    // An item without an asset the others have: one error naming it.
    let broken = c2.join("broken.json");
    let collection = item_collection(c2, true);
    let first_id = collection["features"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&broken, collection.to_string()).unwrap();
    let err = ctx
        .sql(&table(&broken.display().to_string()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.json") && err.contains(&first_id) && err.contains("'qa'"),
        "{err}"
    );
    std::fs::write(&broken, "{\"type\": \"Catalog\"}").unwrap();
    let err = ctx
        .sql(&table(&broken.display().to_string()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected a STAC ItemCollection or Item"),
        "{err}"
    );
}
