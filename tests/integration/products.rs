//! LCMAP's change products: the SQL functions over real CCDC results, and `ardent products`
//! writing them as cloud optimized GeoTIFFs on the stack's grid.

use ardent_engine::gdal_io::RasterFile;
use ardent_engine::grid::Window;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{Float32Type, Int32Type, UInt16Type, UInt8Type};

use crate::common::*;

const SIDE: usize = 12;

#[tokio::test]
async fn ardent_products_writes_the_sql_functions_values_as_rasters() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack");
    write_stack(&stack, SIDE, (2014, 1, 1), (2016, 12, 31));
    let segments = dir.path().join("ccdc.parquet");
    let copy = ardent(&[
        "sql",
        &format!(
            "COPY (SELECT row, col, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) \
             AS ccdc FROM raster_pixels('{}')) TO '{}' STORED AS PARQUET",
            stack.display(),
            segments.display()
        ),
    ]);
    assert!(copy.status.success(), "{}", stderr(&copy));

    let products = |years: &str, out: &std::path::Path, more: &[&str]| {
        let mut args = vec![
            "products",
            "--stack",
            stack.to_str().unwrap(),
            "--segments",
            segments.to_str().unwrap(),
            "--years",
            years,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(more);
        ardent(&args)
    };
    let out = dir.path().join("products");
    let run = products("2015-2016", &out, &["--png"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        20,
        "5 products x 2 years, GeoTIFF and PNG: {names:?}"
    );
    assert!(names.contains(&"LCMAP_CU_003008_2015_SCTIME.tif".to_string()));

    // The rasters hold what the SQL functions give, pixel for pixel, in LCMAP's types.
    let ctx = session(2);
    let values = query(
        &ctx,
        &format!(
            "SELECT row, col, sctime(ccdc, 2015) AS sctime, scmag(ccdc, 2015) AS scmag, \
             sclast(ccdc, 2015) AS sclast, scstab(ccdc, 2015) AS scstab, \
             scmqa(ccdc, 2015) AS scmqa FROM '{}'",
            segments.display()
        ),
    )
    .await;
    let read = |product: &str| {
        RasterFile::open(
            out.join(format!("LCMAP_CU_003008_2015_{product}.tif"))
                .to_str()
                .unwrap(),
        )
        .unwrap()
    };
    let window = Window {
        col: 0,
        row: 0,
        width: SIDE,
        height: SIDE,
    };
    let u16s = |product| {
        let mut buf = vec![0u16; SIDE * SIDE];
        read(product).read_window(window, &mut buf).unwrap();
        buf
    };
    let (sctime, sclast, scstab) = (u16s("SCTIME"), u16s("SCLAST"), u16s("SCSTAB"));
    let mut scmag = vec![0f32; SIDE * SIDE];
    read("SCMAG").read_window(window, &mut scmag).unwrap();
    let mut scmqa = vec![0u8; SIDE * SIDE];
    read("SCMQA").read_window(window, &mut scmqa).unwrap();
    let mut breaks = 0;
    for batch in &values {
        let column = |name: &str| batch.column_by_name(name).unwrap();
        let rows = column("row").as_primitive::<Int32Type>();
        let cols = column("col").as_primitive::<Int32Type>();
        for i in 0..batch.num_rows() {
            let at = rows.value(i) as usize * SIDE + cols.value(i) as usize;
            let time = column("sctime").as_primitive::<UInt16Type>().value(i);
            assert_eq!(sctime[at], time);
            assert_eq!(
                scmag[at],
                column("scmag").as_primitive::<Float32Type>().value(i)
            );
            assert_eq!(
                sclast[at],
                column("sclast").as_primitive::<UInt16Type>().value(i)
            );
            assert_eq!(
                scstab[at],
                column("scstab").as_primitive::<UInt16Type>().value(i)
            );
            assert_eq!(
                scmqa[at],
                column("scmqa").as_primitive::<UInt8Type>().value(i)
            );
            breaks += usize::from(time > 0);
        }
    }
    assert!(
        breaks > 0,
        "the stack's injected changes of 2015 show in SCTIME"
    );
    assert!(scmqa.iter().all(|q| [4, 6, 8, 14, 24, 44, 54].contains(q)));

    // A year the segments do not cover: one clear error, nothing written.
    let elsewhere = dir.path().join("nothing");
    assert_clean_failure(
        &products("1990", &elsewhere, &[]),
        &["1990", "2014 to 2016"],
    );
    assert!(!elsewhere.exists());
    assert_clean_failure(
        &products("2016-2015", &elsewhere, &[]),
        &["'2016-2015' runs backwards"],
    );
}

#[tokio::test]
async fn change_product_functions_refuse_what_is_not_segments() {
    let ctx = session(1);
    let err = ctx
        .sql("SELECT sctime(1, 2015)")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ccdc result or its change_models"), "{err}");
    let err = ctx
        .sql(&format!(
            "SELECT scmag(ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa), 'x') \
             FROM raster_pixels('{}')",
            stack().display()
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'when' must be a year or a date"), "{err}");
}

/// The change products of a real pixel: pyccd's own five segments for pyccd's test pixel
/// test_3657_3610 (breaks 1993-06-17, 2003-07-23, 2010-03-28, 2013-05-23, an end fit to
/// 2014-10-09), pinned at July 1 of years that fall in a gap, inside a segment with a break
/// later in the year, inside the end fit, and after the last segment.
#[test]
fn change_products_of_a_real_pixel_are_pinned() {
    use ardent_udfs::kernels::products::{change_products, july_first, Segment};
    let json =
        crate::ccdc::reference_pixels().join("test_3657_3610_observations.cfmask.pyccd.json");
    let result = ardent_engine::ccdc::read_pyccd_json(&json).unwrap();
    let segments: Vec<Segment> = result.change_models.iter().map(Segment::from).collect();
    let at = |year| change_products(&segments, july_first(year).unwrap());
    let p = at(1993);
    // In the gap after the first segment (ended 1993-06-01), 14 days after its break.
    assert_eq!((p.sctime, p.sclast, p.scstab, p.scmqa), (168, 14, 30, 0));
    assert!((p.scmag - 2600.39).abs() < 0.01, "{}", p.scmag);
    let p = at(2003);
    // Inside the second segment (from 1994-04-01); its break, 2003-07-23, is day 204.
    assert_eq!(
        (p.sctime, p.sclast, p.scstab, p.scmqa),
        (204, 3666, 3378, 8)
    );
    let p = at(2013);
    // Inside the end fit, which began at the 2013-05-23 break.
    assert_eq!((p.sctime, p.sclast, p.scstab, p.scmqa), (143, 39, 39, 24));
    let p = at(2016);
    // After the last segment: no break this year, 631 days since it ended.
    assert_eq!(
        (p.sctime, p.scmag, p.sclast, p.scstab, p.scmqa),
        (0, 0.0, 1135, 631, 0)
    );
}

/// A land-cover model that tells grass/shrub from tree cover by the nir "average reflectance"
/// feature (intercept + slope x the prediction date; feature 26 of 63): grass below 450, tree
/// from 450 to 1000, grass from 1000 to 2100, tree above. Each of the two trees that matter adds
/// 2.0 to its class's margin where the class is called and 1.25 where it is the other; the other
/// seven classes' trees add nothing. So a prediction gives its class e^2 / (e^2 + e^1.25 + 7) =
/// 0.413 and the other e^1.25 / (...) = 0.195.
fn nir_model() -> String {
    let tree = |class: usize| {
        let [grass, tree] = match class {
            3 => [2.0, 1.25],
            4 => [1.25, 2.0],
            _ => [0.0, 0.0],
        };
        serde_json::json!({
            "left_children": [1, 3, 5, -1, -1, -1, -1], "right_children": [2, 4, 6, -1, -1, -1, -1],
            "split_indices": [26, 26, 26, 0, 0, 0, 0],
            "split_conditions": [1000.0, 450.0, 2100.0, grass, tree, grass, tree],
            "default_left": [1, 1, 1, 0, 0, 0, 0], "split_type": [0, 0, 0, 0, 0, 0, 0]
        })
    };
    land_cover_model((0..9).map(tree).collect())
}

/// Each cover rule on a real pixel: pyccd's own segments for test_3657_3610 (1984-05-23 to
/// 1993-06-01, break 1993-06-17; 1994-04-01 to 2003-07-15, break 2003-07-23; 2005-08-21 to
/// 2010-03-20, break 2010-03-28; 2010-06-16 to 2012-08-16, break 2013-05-23; an end fit
/// 2013-05-23 to 2014-10-09), classified by [`nir_model`]. Their nir at the July 1 dates and
/// NBR change make the first two declines (tree first, grass last, NBR down by 0.10 and 0.19),
/// the third tree throughout, the fourth grass, tree, grass (no override) and the end fit a
/// growth (grass in 2013, tree in 2014, NBR up by 0.07).
#[test]
fn cover_products_of_a_real_pixel_are_pinned() {
    use ardent_udfs::kernels::booster::Booster;
    use ardent_udfs::kernels::cover::{
        classify_pixels, cover_products, segments_read_at, CoverProducts,
    };
    use ardent_udfs::kernels::products::ordinal;
    let json =
        crate::ccdc::reference_pixels().join("test_3657_3610_observations.cfmask.pyccd.json");
    let result = ardent_engine::ccdc::read_pyccd_json(&json).unwrap();
    let booster = Booster::from_json(&nir_model()).unwrap();
    let pixels = [(result.change_models.as_slice(), &[][..])];
    let segments = classify_pixels(&pixels, &booster, (7, 1))
        .unwrap()
        .remove(0);
    let dates: Vec<usize> = segments.iter().map(|s| s.predictions.len()).collect();
    assert_eq!(dates, [9, 10, 4, 3, 2]);
    let mut read = Vec::new();
    let mut at = |y: i32, m: u32, d: u32| {
        let day = ordinal(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap());
        let products = cover_products(&segments, day);
        // The products of only the segments they read (as `landcover` classifies) are the same.
        let models = segments_read_at(&result.change_models, day, (7, 1));
        let few = classify_pixels(&[(models.as_slice(), &[][..])], &booster, (7, 1)).unwrap();
        assert_eq!(cover_products(&few[0], day), products, "{y}-{m}-{d}");
        read.push(models.len());
        let CoverProducts {
            lcpri,
            lcsec,
            lcpconf,
            lcsconf,
            lcachg,
        } = products;
        (lcpri, lcsec, lcpconf, lcsconf, lcachg)
    };
    let (grass, tree) = (3, 4);
    // Before the first segment: its class (tree before its first grass date), code 213.
    assert_eq!(at(1983, 7, 1), (tree, grass, 213, 213, tree));
    // The first segment declines: tree to 1988, grass from 1989-07-01, code 152.
    assert_eq!(at(1986, 7, 1), (tree, grass, 152, 152, tree));
    assert_eq!(at(1989, 7, 1), (grass, tree, 152, 152, 43));
    // In the gap after it, past its break: the next segment's class (tree until its own decline
    // in 1998), the classes differing on both sides: 212.
    assert_eq!(at(1993, 7, 1), (tree, grass, 212, 212, 34));
    assert_eq!(at(1999, 7, 1), (grass, tree, 152, 152, grass));
    // The gap after the second segment, past its break: the third's class.
    assert_eq!(at(2004, 7, 1), (tree, grass, 212, 212, 34));
    assert_eq!(at(2005, 7, 1), (tree, grass, 212, 212, tree));
    // Inside the third segment, tree throughout: the mean probabilities, 0.413 and 0.195.
    assert_eq!(at(2007, 7, 1), (tree, grass, 41, 19, tree));
    // The gap between the third and fourth segments, before and after the third's break
    // (2010-03-28): the earlier segment's class, then the later's (grass by its mean).
    assert_eq!(at(2010, 3, 25), (tree, grass, 212, 212, tree));
    assert_eq!(at(2010, 5, 1), (grass, tree, 212, 212, 43));
    // Inside the fourth: grass twice and tree once average to 0.341 and 0.268.
    assert_eq!(at(2011, 7, 1), (grass, tree, 34, 26, grass));
    // Between the fourth and the end fit, before the break: both sides grass first, tree
    // second: the same classes, 211.
    assert_eq!(at(2013, 1, 1), (grass, tree, 211, 211, grass));
    // The end fit grows: grass until its first tree date, 2014-07-01, code 151.
    assert_eq!(at(2013, 7, 1), (grass, tree, 151, 151, grass));
    assert_eq!(at(2014, 7, 1), (tree, grass, 151, 151, 34));
    // After it, ended without a break: carried forward, 202.
    assert_eq!(at(2016, 7, 1), (tree, grass, 202, 202, tree));
    // Of the five segments, the one before, inside or after which both the date and the date
    // a year earlier fall; two where either falls in a gap or they fall in different segments.
    assert_eq!(read, [1, 1, 1, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2, 1, 1]);
}
