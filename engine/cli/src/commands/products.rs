//! `ardent products`: LCMAP's change products of a tile (and with a land-cover model its cover
//! products), one cloud optimized GeoTIFF per product and year, with PNG previews.

use std::path::PathBuf;

use ardent_engine::products::{write_change_products, ProductsRequest};

use super::map::stack_tile;
use super::{session, with_progress};
use crate::plot::map_png;

/// Where a tile's CCDC segments come from: stored results, or CCDC run on the stack.
#[derive(clap::Args, Debug)]
pub struct SegmentsSource {
    /// The stack whose grid the products are on (a folder or s3:// URL).
    #[arg(long)]
    pub stack: String,
    /// The tile, when the stack has several.
    #[arg(long)]
    pub tile: Option<String>,
    /// Stored CCDC results to use (a Parquet file or other table with row, col and the
    /// --column), as written by `COPY (SELECT row, col, ccdc(...) AS ccdc ...) TO ...`. Without
    /// it, CCDC runs on the stack first.
    #[arg(long)]
    pub segments: Option<String>,
    /// The column of --segments holding a ccdc result or its change_models.
    #[arg(long, default_value = "ccdc")]
    pub column: String,
}

impl SegmentsSource {
    /// The query giving `row`, `col` and the segments column for `tile`, and that column.
    pub fn sql(&self, tile: &str) -> (String, String) {
        let quote = |s: &str| s.replace('\'', "''");
        match &self.segments {
            Some(table) => (
                format!(
                    "SELECT row, col, \"{}\" FROM '{}'",
                    self.column.replace('"', "\"\""),
                    quote(table)
                ),
                self.column.clone(),
            ),
            None => (
                format!(
                    "SELECT row, col, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, \
                     qa) AS ccdc FROM raster_pixels('{}') WHERE tile = '{}'",
                    quote(&self.stack),
                    quote(tile)
                ),
                "ccdc".to_string(),
            ),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub source: SegmentsSource,
    /// Years to make products for (each at July 1, as LCMAP does): `2015`, `2013-2020` or
    /// `2014,2016`.
    #[arg(long, value_parser = parse_years)]
    pub years: Years,
    /// A land-cover model (XGBoost JSON, from `python -m ardent.landcover train`): also write
    /// the five cover products (LCPRI, LCSEC, LCPCONF, LCSCONF, LCACHG). On a cluster, the
    /// path must be readable by every executor.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// An auxiliary layer the model was trained with (a raster on the stack's grid, such as
    /// elevation); repeat it for several, in the order given to `ardent training`.
    #[arg(long, requires = "model")]
    pub aux: Vec<String>,
    /// Output folder for the GeoTIFFs (`LCMAP_CU_003008_2015_SCTIME.tif`: tile, year, product).
    #[arg(long)]
    pub out: PathBuf,
    /// Also draw a PNG preview beside each GeoTIFF.
    #[arg(long)]
    pub png: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Product years, ascending, without repeats.
#[derive(Clone, Debug)]
pub struct Years(Vec<i32>);

fn parse_years(text: &str) -> Result<Years, String> {
    let year = |t: &str| {
        t.trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (1..=9999).contains(y))
            .ok_or_else(|| format!("'{t}' is not a year"))
    };
    let mut years = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (year(a)?, year(b)?);
                if a > b {
                    return Err(format!("'{part}' runs backwards"));
                }
                years.extend(a..=b);
            }
            None => years.push(year(part)?),
        }
    }
    years.sort_unstable();
    years.dedup();
    Ok(Years(years))
}

pub async fn run(master: Option<&str>, args: Args) -> anyhow::Result<()> {
    let tile = stack_tile(&args.source.stack, args.source.tile.as_deref()).await?;
    let (segments_sql, column) = args.source.sql(&tile.tile);
    let request = ProductsRequest {
        segments_sql,
        column,
        grid: tile.grid.clone(),
        tile: tile.tile.clone(),
        years: args.years.0.clone(),
        out: args.out.clone(),
        model: args.model.clone(),
        aux: args.aux.clone(),
    };
    let (ctx, progress) = session(master).await?;
    let mut previews = Vec::new();
    let mut written = |raster: &ardent_engine::products::ProductRaster| {
        println!(
            "wrote {} ({})",
            raster.path.display(),
            summary(&raster.image.values)
        );
        if args.png {
            previews.push(raster.clone());
        }
    };
    with_progress(
        &progress,
        args.quiet,
        write_change_products(&ctx, &request, &mut written),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    for raster in previews {
        let png = raster.path.with_extension("png");
        let title = format!("{} {} (July 1)", raster.image.column, raster.year);
        map_png(&raster.image, &png, &title).map_err(anyhow::Error::msg)?;
        println!("wrote {}", png.display());
    }
    Ok(())
}

/// Pixels with a non-zero value, and the range.
fn summary(values: &[f64]) -> String {
    let set: Vec<f64> = values.iter().copied().filter(|v| *v != 0.0).collect();
    let (lo, hi) = set
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if set.is_empty() {
        "every pixel 0".to_string()
    } else {
        format!("{} pixels non-zero, {lo} to {hi}", set.len())
    }
}
