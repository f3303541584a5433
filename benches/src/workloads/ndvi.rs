//! A per-pixel composite: the clear-sky NDVI median of one year. ardent from the GeoTIFFs (only
//! red, nir and qa of that year are read), a rasterio + numpy script on the same GeoTIFFs, and
//! Spark SQL over the stack's observations exported to Parquet. Answers agree to 1e-6.

use super::{Bench, PixelRuns, WorkloadResult};
use crate::answers::cells_agree;
use crate::ardent::text_rows;
use crate::baseline::arg;
use crate::measure::timed;

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

    let mut runs = PixelRuns::new(b, "ndvi", "row,col,ndvi_median");
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
        runs.ardent(&engine.label, engine.cores, times, lines)?;
    }
    let period = ["--start".to_string(), start, "--end".into(), end];
    runs.baseline(
        "rasterio_ndvi.py",
        "rasterio + numpy",
        [vec!["--stack".to_string(), arg(&stack)], period.to_vec()].concat(),
    )?;
    runs.baseline(
        "spark_bench.py",
        "spark",
        [
            vec![
                "ndvi".to_string(),
                "--observations".into(),
                arg(&observations),
                "--cores".into(),
                b.cores.to_string(),
            ],
            period.to_vec(),
        ]
        .concat(),
    )?;
    let mut result = runs.finish(
        format!("Clear-sky NDVI median per pixel, {year}"),
        format!(
            "{0} x {0} px synthetic stack, 2013-2020; ardent and rasterio read the GeoTIFFs, Spark all the stack's observations (red, nir, qa) from Parquet",
            b.sizes.stack
        ),
        cells_agree,
    )?;
    // Throughput counts every pixel of the stack, with a clear observation that year or not.
    result.items = (b.sizes.stack * b.sizes.stack) as u64;
    Ok(result)
}
