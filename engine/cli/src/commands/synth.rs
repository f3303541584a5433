//! `ardent synth`.

use std::io::IsTerminal;
use std::path::PathBuf;

use ardent_engine::ard::{Collection, TileId};
use ardent_engine::synth::{generate, SynthConfig};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output folder (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// ARD collection to imitate: c1 (Int16 GeoTIFFs named ..._C01_V01_SRB2.tif) or c2 (UInt16
    /// digital numbers and QA_PIXEL bits in cloud optimized GeoTIFFs named ..._02_SR_B2.TIF).
    #[arg(long, default_value = "c1", value_parser = clap::builder::ValueParser::new(str::parse::<Collection>))]
    pub collection: Collection,
    /// ARD tile id; the stack covers its upper-left corner.
    #[arg(long, default_value = "h003v008")]
    pub tile: TileId,
    /// Pixels per side.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// First acquisition date (YYYY-MM-DD).
    #[arg(long, default_value = "2013-01-01")]
    pub start: NaiveDate,
    /// Last acquisition date (YYYY-MM-DD).
    #[arg(long, default_value = "2020-12-31")]
    pub end: NaiveDate,
    /// Days between acquisitions of one sensor.
    #[arg(long, default_value_t = 16)]
    pub revisit: u32,
    /// Mean share of a scene covered by cloud.
    #[arg(long, default_value_t = 0.3)]
    pub cloud: f64,
    /// Share of pixels with an abrupt land-cover change.
    #[arg(long, default_value_t = 0.1)]
    pub change_fraction: f64,
    /// Random seed; the same seed gives the same stack.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = SynthConfig {
        out: args.out,
        collection: args.collection,
        tile: args.tile,
        size: args.size,
        start: args.start,
        end: args.end,
        revisit: args.revisit,
        cloud: args.cloud,
        change_fraction: args.change_fraction,
        seed: args.seed,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} acquisitions",
            )
            .expect("valid progress template"),
        );
        bar
    });
    let summary = generate(&config, &|done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = summary.map_err(anyhow::Error::msg)?;
    println!(
        "wrote {} acquisitions ({} GeoTIFFs, {}x{} px, tile {}) to {}",
        summary.acquisitions,
        summary.files,
        config.size,
        config.size,
        config.tile,
        summary.out.display()
    );
    println!(
        "mean cloud cover {:.1}%, {} pixels with a change; ground truth in {}",
        summary.mean_cloud_cover * 100.0,
        summary.changed_pixels,
        summary.truth.display()
    );
    Ok(())
}
