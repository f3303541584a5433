//! Bad input: each case gives one clear error naming the culprit, a non-zero exit, no panic, and
//! nothing half-written.

use std::path::Path;

use ardent_engine::grid::Grid;

use crate::common::*;

fn create_and_count(location: &str, options: &str) -> std::process::Output {
    let options = if options.is_empty() {
        "OPTIONS ('layout' 'observations')".to_string()
    } else {
        format!("OPTIONS ('layout' 'observations', {options})")
    };
    ardent(&[
        "sql",
        &format!("CREATE EXTERNAL TABLE t STORED AS RASTER LOCATION '{location}' {options}; SELECT sum(red), sum(qa) FROM t"),
    ])
}

fn first_file(dir: &Path, suffix: &str) -> std::path::PathBuf {
    tifs(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap()
}

#[test]
fn missing_and_empty_locations() {
    let missing = create_and_count("/no/such/stack", "");
    assert_clean_failure(&missing, &["/no/such/stack", "does not exist"]);

    let empty = tempfile::tempdir().unwrap();
    let o = create_and_count(empty.path().to_str().unwrap(), "");
    assert_clean_failure(&o, &[empty.path().to_str().unwrap(), "no raster files"]);

    let o = create_and_count("", "");
    assert_clean_failure(&o, &["location is empty"]);

    let o = create_and_count("gs://bucket/stack", "");
    assert_clean_failure(&o, &["gs://"]);
}

#[test]
fn file_on_another_grid_or_crs() {
    let dir = tempfile::tempdir().unwrap();
    copy_stack(dir.path());
    let victim = first_file(dir.path(), "SRB3.tif");
    let mut grid = Grid::ard("h003v008".parse().unwrap(), SIZE, SIZE);
    grid.transform[0] += 30.0 * 5.0;
    ardent_engine::gdal_io::write_geotiff(&victim, &grid, &vec![0i16; SIZE * SIZE], None).unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(
        &o,
        &[
            "grid mismatch",
            victim.file_name().unwrap().to_str().unwrap(),
            "geotransform",
        ],
    );

    let mut grid = Grid::ard("h003v008".parse().unwrap(), SIZE, SIZE);
    grid.crs_wkt = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]"#.into();
    ardent_engine::gdal_io::write_geotiff(&victim, &grid, &vec![0i16; SIZE * SIZE], None).unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(
        &o,
        &["another CRS", victim.file_name().unwrap().to_str().unwrap()],
    );

    let grid = Grid::ard("h003v008".parse().unwrap(), SIZE, SIZE + 1);
    ardent_engine::gdal_io::write_geotiff(&victim, &grid, &vec![0i16; SIZE * (SIZE + 1)], None)
        .unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(
        &o,
        &["30x31", victim.file_name().unwrap().to_str().unwrap()],
    );

    // Only the files a table reads are checked: without the victim's band, or from the day after
    // its acquisition, the stack is fine; with its date in range it is named again.
    let acquired = victim
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .split('_')
        .nth(3)
        .unwrap()
        .to_string();
    let day = chrono::NaiveDate::parse_from_str(&acquired, "%Y%m%d").unwrap();
    let sum_qa = |options: &str| {
        ardent(&[
            "sql",
            "--format",
            "csv",
            &format!(
                "SELECT sum(qa) > 0 AS read FROM raster_observations('{}', {options})",
                dir.path().display()
            ),
        ])
    };
    for options in [
        "'bands', 'qa'".to_string(),
        format!("'start', '{}'", day.succ_opt().unwrap()),
    ] {
        let o = sum_qa(&options);
        assert!(o.status.success(), "{options}: {}", stderr(&o));
        assert_eq!(stdout(&o), "read\ntrue\n", "{options}");
    }
    let o = sum_qa(&format!("'start', '{day}', 'end', '{day}'"));
    assert_clean_failure(
        &o,
        &["30x31", victim.file_name().unwrap().to_str().unwrap()],
    );
}

#[test]
fn corrupt_and_truncated_geotiffs() {
    let dir = tempfile::tempdir().unwrap();
    copy_stack(dir.path());
    let garbage = first_file(dir.path(), "SRB4.tif");
    std::fs::write(&garbage, b"this is not a GeoTIFF").unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(&o, &[garbage.file_name().unwrap().to_str().unwrap()]);

    let dir = tempfile::tempdir().unwrap();
    copy_stack(dir.path());
    let truncated = first_file(dir.path(), "PIXELQA.tif");
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(&o, &[truncated.file_name().unwrap().to_str().unwrap()]);
}

#[test]
fn unknown_band_option_and_column() {
    let location = stack().to_str().unwrap();
    let o = create_and_count(location, "'bands' 'red,purple'");
    assert_clean_failure(&o, &["'purple'", "bands"]);

    let o = create_and_count(location, "'colour' 'red'");
    assert_clean_failure(&o, &["unknown RASTER option 'colour'", "chip_size"]);

    let o = create_and_count(location, "'chip_size' 'big'");
    assert_clean_failure(&o, &["'big'", "chip_size"]);

    let o = ardent(&[
        "sql",
        &format!(
            "CREATE EXTERNAL TABLE t STORED AS RASTER LOCATION '{location}'; SELECT purple FROM t"
        ),
    ]);
    assert_clean_failure(&o, &["purple"]);

    let o = ardent(&["sql", "SELEC 1"]);
    assert_clean_failure(&o, &["SELEC"]);
}

#[test]
fn band_missing_from_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    copy_stack(dir.path());
    // Without any thermal file the stack has no thermal band, and asking for it names it.
    for f in tifs(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("BTB"))
    {
        std::fs::remove_file(f).unwrap();
    }
    let o = create_and_count(dir.path().to_str().unwrap(), "'bands' 'thermal'");
    assert_clean_failure(&o, &["band 'thermal' is not in the stack"]);
    // One acquisition without its red file (SRB4 on Landsat 8) is named.
    let victim = first_file(dir.path(), "SRB4.tif");
    assert!(victim.to_string_lossy().contains("LC08"));
    std::fs::remove_file(&victim).unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(&o, &["has no 'red' file"]);
}

#[test]
fn unparsable_date_in_a_file_name() {
    let dir = tempfile::tempdir().unwrap();
    copy_stack(dir.path());
    let source = first_file(dir.path(), "SRB4.tif");
    let bad = "LC08_CU_003008_20151341_20181202_C01_V01_SRB5.tif";
    std::fs::copy(&source, dir.path().join(bad)).unwrap();
    let o = create_and_count(dir.path().to_str().unwrap(), "");
    assert_clean_failure(&o, &["'20151341'", bad]);
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes that fail part-way (after the output was started) leave nothing behind: no partial
/// GeoTIFF, PNG or stack, under the final name or a temporary one.
#[test]
fn failed_outputs_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let location = stack().to_str().unwrap();
    let map = |tif: &Path, png: &Path| {
        ardent(&[
            "map",
            "--stack",
            location,
            "--column",
            "v",
            "--out",
            tif.to_str().unwrap(),
            "--png",
            png.to_str().unwrap(),
            &format!("SELECT row, col, red[1] AS v FROM raster_pixels('{location}')"),
        ])
    };
    // The GeoTIFF is written in full, then cannot be renamed onto a folder of its name.
    let (tif, png) = (dir.path().join("map.tif"), dir.path().join("map.png"));
    std::fs::create_dir(&tif).unwrap();
    std::fs::write(tif.join("keep"), "").unwrap();
    assert_clean_failure(&map(&tif, &png), &["cannot write", "map.tif"]);
    assert_eq!(
        names(dir.path()),
        ["map.tif"],
        "only the folder that was there"
    );
    std::fs::remove_dir_all(&tif).unwrap();

    // The same for the PNG preview, drawn after the GeoTIFF.
    std::fs::create_dir(&png).unwrap();
    std::fs::write(png.join("keep"), "").unwrap();
    assert_clean_failure(&map(&tif, &png), &["cannot write", "map.png"]);
    assert_eq!(names(dir.path()), ["map.png", "map.tif"], "no partial PNG");
    std::fs::remove_dir_all(&png).unwrap();
    std::fs::remove_file(&tif).unwrap();

    // A synthetic stack fails after its staging folder was made: no sensor flew in 1970.
    let o = ardent(&[
        "synth",
        "--out",
        dir.path().join("s").to_str().unwrap(),
        "--start",
        "1970-01-01",
        "--end",
        "1971-01-01",
    ]);
    assert_clean_failure(&o, &["no Landsat sensor flew"]);
    assert_eq!(
        names(dir.path()),
        Vec::<String>::new(),
        "no staging folder left"
    );

    // Bad options fail before anything is written.
    for args in [["--size", "0"], ["--start", "2016-01-01"]] {
        let o = ardent(&[
            "synth",
            "--out",
            dir.path().join("s").to_str().unwrap(),
            args[0],
            args[1],
            "--end",
            "2015-01-01",
        ]);
        assert_clean_failure(&o, &[args[0]]);
    }
    assert_eq!(names(dir.path()), Vec::<String>::new());
}
