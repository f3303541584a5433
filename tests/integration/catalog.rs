//! Cataloguing stacks: manifests for stacks not named like ARD, file:// URLs, several tiles.

use std::sync::Arc;

use ardent_engine::provider::{Layout, RasterOptions, RasterTable};
use ardent_engine::synth::{generate, SynthConfig};
use chrono::NaiveDate;

use crate::common::*;

#[tokio::test]
async fn manifest_names_files_of_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = String::from("path,date,band,tile,sensor\n");
    for (i, file) in tifs(stack()).iter().enumerate() {
        let name = file.file_name().unwrap().to_str().unwrap();
        let parsed = ardent_engine::ard::ArdName::parse(name).unwrap().unwrap();
        let band = parsed.band.unwrap();
        let renamed = format!("scene{i:05}.tif");
        std::fs::copy(file, dir.path().join(&renamed)).unwrap();
        manifest.push_str(&format!(
            "{renamed},{},{band},{},{}\n",
            parsed.acquired, parsed.tile, parsed.sensor
        ));
    }
    std::fs::write(dir.path().join("manifest.csv"), manifest).unwrap();

    let ctx = session(2);
    let location = dir.path().display();
    let sql = |from: &str| {
        format!("SELECT count(*) AS n, sum(red) AS red, min(date) AS first FROM raster_observations('{from}')")
    };
    assert_eq!(
        pretty(&query(&ctx, &sql(&location.to_string())).await),
        pretty(&query(&ctx, &sql(stack().to_str().unwrap())).await)
    );

    // A bad line is named.
    std::fs::write(
        dir.path().join("bad.csv"),
        "path,date,band,tile\nscene00000.tif,2015-02-30,red,h003v008\n",
    )
    .unwrap();
    let err = RasterTable::try_new(
        &location.to_string(),
        RasterOptions::from_pairs([("manifest", "bad.csv")]).unwrap(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bad.csv") && err.contains("line 2") && err.contains("2015-02-30"),
        "{err}"
    );
}

#[tokio::test]
async fn file_urls_and_several_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both");
    std::fs::create_dir(&both).unwrap();
    for (tile, seed) in [("h003v008", 1), ("h004v008", 2)] {
        let out = dir.path().join(tile);
        let config = SynthConfig {
            out: out.clone(),
            tile: tile.parse().unwrap(),
            size: 12,
            start: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2015, 6, 30).unwrap(),
            seed,
            ..SynthConfig::default()
        };
        generate(&config, &|_, _| {}).unwrap();
        for f in tifs(&out) {
            std::fs::rename(&f, both.join(f.file_name().unwrap())).unwrap();
        }
    }
    let ctx = session(1);
    let url = format!("file://{}", both.display());
    let mut options = RasterOptions::from_pairs([("chip_size", "6")]).unwrap();
    options.layout = Layout::Observations;
    let table = Arc::new(RasterTable::try_new(&url, options).await.unwrap());
    assert_eq!(table.stack().tiles.len(), 2);
    ctx.register_table("obs", table.clone()).unwrap();
    let per_tile = query(
        &ctx,
        "SELECT tile, count(DISTINCT px) AS px, min(px) AS x0 FROM obs GROUP BY tile ORDER BY tile",
    )
    .await;
    let text = pretty(&per_tile);
    assert!(
        text.contains("h003v008 | 12 ") && text.contains("h004v008 | 12 "),
        "{text}"
    );
    // Tile origins 150 km apart on the ARD grid.
    assert!(
        text.contains("-2115585") && text.contains("-1965585"),
        "{text}"
    );

    let n4 = table.stack().tiles[1].acquisitions.len();
    let (batches, files) =
        run_counting_files(&ctx, "SELECT red FROM obs WHERE tile = 'h004v008'").await;
    assert_eq!(files, n4, "only the chosen tile's red files are opened");
    assert_eq!(rows(&batches), 12 * 12 * n4);
}
