//! `ardent training`: the table a land-cover classifier trains on, from a label raster of NLCD
//! classes on the stack's grid and the tile's CCDC segments at a training date.

use std::path::PathBuf;

use ardent_engine::landcover::{read_labels, write_training, AuxLayers};
use chrono::NaiveDate;

use super::map::stack_tile;
use super::products::SegmentsSource;
use super::{session, with_progress};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub source: SegmentsSource,
    /// A GeoTIFF of NLCD class codes on the stack's grid (LCMAP trained on NLCD 2001),
    /// crosswalked to LCMAP's classes; pixels coded 0 or unmapped are left out.
    #[arg(long)]
    pub labels: String,
    /// An auxiliary layer whose values come first in the features (a raster on the stack's
    /// grid, such as elevation); repeat it for several. Products need the same, in this order.
    #[arg(long)]
    pub aux: Vec<String>,
    /// The date the labels describe: each labelled pixel's segment covering it gives the
    /// features (LCMAP used 2001-07-01).
    #[arg(long)]
    pub date: NaiveDate,
    /// The Parquet file to write (row, col, label, features).
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(master: Option<&str>, args: Args) -> anyhow::Result<()> {
    let tile = stack_tile(&args.source.stack, args.source.tile.as_deref()).await?;
    let labels = read_labels(&args.labels, &tile.grid)?;
    let aux = AuxLayers::read(&args.aux, &tile.grid)?;
    let (segments_sql, column) = args.source.sql(&tile.tile);
    let (ctx, progress) = session(master).await?;
    let written = with_progress(
        &progress,
        args.quiet,
        write_training(
            &ctx,
            &segments_sql,
            &column,
            &labels,
            &aux,
            args.date,
            &args.out,
        ),
    )
    .await?;
    println!(
        "wrote {}: {} training rows ({} labelled pixels, {} with a segment on {})",
        written.path.display(),
        written.rows,
        written.labelled,
        written.rows,
        args.date
    );
    Ok(())
}
