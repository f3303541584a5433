//! A per-pixel composite: the clear-sky NDVI median of one year. ardent from the GeoTIFFs (only
//! red, nir and qa of that year are read), a rasterio + numpy script on the same GeoTIFFs, and
//! Spark SQL over the stack's observations exported to Parquet. Answers agree to 1e-6.

use super::{write_answer, Bench, WorkloadResult};
use crate::answers::{cells_agree, compare_keyed, read_keyed};
use crate::ardent::text_rows;
use crate::baseline::arg;
use crate::measure::{timed, Measurement};

pub async fn run(b: &Bench) -> crate::Result<WorkloadResult> {
    let stack = b.stack()?;
    let year = b.sizes.year;
    let (start, end) = (format!("{year}-01-01"), format!("{year}-12-31"));
    let observations = b.data.join(format!("observations-{}", b.sizes.stack));
    b.export_parquet(
        &[format!(
            "SELECT row, col, date, red, nir, qa FROM raster_observations('{}')",
            stack.display()
        )],
        &observations,
    )
    .await?;
    let query = format!(
        "SELECT row, col, composite('median', dates, ndvi(red, nir), qa, 'c1', DATE '{start}', DATE '{}-01-01') AS m
         FROM raster_pixels('{}', 'bands', 'red,nir,qa', 'start', '{start}', 'end', '{end}')",
        year + 1,
        stack.display()
    );

    let mut measurements = Vec::new();
    let mut answers = Vec::new();
    let mut versions = std::collections::BTreeMap::new();
    for engine in &b.engines {
        let label = format!("ndvi {}", engine.label);
        let (times, batches) = timed(&label, b.runs, || engine.sql(&query)).await?;
        let lines = text_rows(&batches)?
            .into_iter()
            .filter(|r| !r[2].is_empty())
            .map(|r| {
                let median: f64 = r[2]
                    .parse()
                    .map_err(|_| format!("ndvi median '{}' is not a number", r[2]))?;
                Ok(format!("{},{},{median:.9}", r[0], r[1]))
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let path = b.answer_path("ndvi", &engine.label);
        write_answer(&path, "row,col,ndvi_median", lines)?;
        measurements.push(Measurement::new(&engine.label, engine.cores, times));
        answers.push((engine.label.clone(), path));
    }
    let runs = b.runs.to_string();
    let period = [
        "--start".to_string(),
        start.clone(),
        "--end".into(),
        end.clone(),
    ];
    for (script, label, mut args) in [
        (
            "rasterio_ndvi.py",
            "rasterio + numpy",
            vec!["--stack".to_string(), arg(&stack)],
        ),
        (
            "spark_bench.py",
            "spark",
            vec![
                "ndvi".to_string(),
                "--observations".into(),
                arg(&observations),
                "--cores".into(),
                b.cores.to_string(),
            ],
        ),
    ] {
        let path = b.answer_path("ndvi", label);
        args.extend(period.iter().cloned());
        args.extend(["--runs".into(), runs.clone(), "--answer".into(), arg(&path)]);
        let report = b.python.run(script, &args)?;
        measurements.push(report.measurement(label));
        versions.extend(report.versions);
        answers.push((label.to_string(), path));
    }

    let reference = read_keyed(&answers[0].1)?;
    let mut checks = Vec::new();
    for (label, path) in &answers[1..] {
        checks.push(compare_keyed(
            label,
            &reference,
            &read_keyed(path)?,
            cells_agree,
        ));
    }
    let pixels = (b.sizes.stack * b.sizes.stack) as u64;
    Ok(WorkloadResult {
        name: "ndvi".into(),
        title: format!("Clear-sky NDVI median per pixel, {year}"),
        inputs: format!(
            "{0} x {0} px synthetic stack, 2013-2020; ardent and rasterio read the GeoTIFFs, Spark all the stack's observations (red, nir, qa) from Parquet",
            b.sizes.stack
        ),
        unit: Some("pixels".into()),
        items: pixels,
        measurements,
        checks,
        queries: Default::default(),
        notes: vec![],
        versions,
    })
}
