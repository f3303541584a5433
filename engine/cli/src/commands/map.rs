//! `ardent map`.

use std::path::PathBuf;

use ardent_engine::catalog::{Selection, Stack, TileStack};
use ardent_engine::location::{Location, S3Options};
use ardent_engine::map::MapImage;

use crate::plot::map_png;
use ardent_engine::session::run_script;

use super::{session, with_progress, Script};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub script: Script,
    /// The stack whose grid the map is drawn on (a folder or s3:// URL).
    #[arg(long)]
    pub stack: String,
    /// The tile to map, when the stack has several.
    #[arg(long)]
    pub tile: Option<String>,
    /// The result column to map; the result also needs `row` and `col`.
    #[arg(long)]
    pub column: String,
    /// The GeoTIFF to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write a PNG preview here.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Title of the PNG preview (the column name by default).
    #[arg(long)]
    pub title: Option<String>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(master: Option<&str>, args: Args) -> anyhow::Result<()> {
    let script = args.script.text()?;
    let tile = stack_tile(&args.stack, args.tile.as_deref()).await?;
    let (ctx, progress) = session(master).await?;
    let results = with_progress(&progress, args.quiet, run_script(&ctx, &script))
        .await
        .map_err(anyhow::Error::msg)?;
    let last = results
        .last()
        .ok_or_else(|| anyhow::anyhow!("no statement produced a result"))?;
    let map = MapImage::from_batches(&last.batches, &args.column, &tile.grid)
        .map_err(anyhow::Error::msg)?;
    map.write_geotiff(&args.out).map_err(anyhow::Error::msg)?;
    let (lo, hi) = map.range().unwrap_or((f64::NAN, f64::NAN));
    let mapped = map.values.iter().filter(|v| v.is_finite()).count();
    println!(
        "wrote {} ({}x{} px, {mapped} with values, {lo:.4} to {hi:.4})",
        args.out.display(),
        tile.grid.width,
        tile.grid.height
    );
    if let Some(png) = &args.png {
        map_png(&map, png, args.title.as_deref().unwrap_or(&args.column))
            .map_err(anyhow::Error::msg)?;
        println!("wrote {}", png.display());
    }
    Ok(())
}

/// The tile of the stack at `stack` that `tile` names, or its only tile. Only its grid is read:
/// one file per tile is opened, none of the bands.
pub async fn stack_tile(stack: &str, tile: Option<&str>) -> anyhow::Result<TileStack> {
    let location = Location::parse(stack, &S3Options::default()).map_err(anyhow::Error::msg)?;
    let grid_only = Selection {
        bands: Some(Vec::new()),
        ..Selection::default()
    };
    let catalogued = Stack::open(&location, None, &grid_only)
        .await
        .map_err(anyhow::Error::msg)?;
    let mut tiles = catalogued.tiles.into_iter();
    match (tile, tiles.len()) {
        (None, 1) => Ok(tiles.next().expect("one tile")),
        (None, _) => Err(anyhow::anyhow!(
            "the stack at '{stack}' has several tiles: choose one with --tile"
        )),
        (Some(id), _) => tiles
            .find(|t| t.tile == id)
            .ok_or_else(|| anyhow::anyhow!("the stack at '{stack}' has no tile {id}")),
    }
}
