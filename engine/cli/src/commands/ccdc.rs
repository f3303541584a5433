//! `ardent ccdc`: CCDC on one pixel's CSV, printed as pyccd-shaped JSON.

use std::path::PathBuf;

use ardent_engine::ccdc::{read_pyccd_json, to_pyccd_json, PixelCsv};

use crate::plot::pixel_plot;
use ardent_udfs::kernels::ccdc::{detect, settings, update};
use ardent_udfs::kernels::qa::QaScheme;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV with columns ordinal_date,blue,green,red,nir,swir1,swir2,thermal,qa.
    #[arg(long)]
    pub csv: PathBuf,
    /// How the qa column is coded: c1 (Collection 1 pixel_qa bits, pyccd's default), c2
    /// (Collection 2 QA_PIXEL bits), c2_strict (c2 with dilated cloud and cirrus as cloud) or
    /// cfmask (codes 0 clear, 1 water, 2 shadow, 3 snow, 4 cloud, 255 fill).
    #[arg(long, default_value = "c1", value_parser = clap::builder::ValueParser::new(str::parse::<QaScheme>))]
    pub qa: QaScheme,
    /// pyccd parameters to override, as JSON (e.g. '{"MEOW_SIZE": 16}').
    #[arg(long)]
    pub params: Option<String>,
    /// Continue this earlier result (pyccd-shaped JSON, as this command or pyccd writes it)
    /// over the CSV's longer series, as pyccd's `prev_results` does: the annual update.
    #[arg(long)]
    pub prev: Option<PathBuf>,
    /// Also draw the observations, fitted segments and breaks, one panel per band, to this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let pixel = PixelCsv::read(&args.csv).map_err(anyhow::Error::msg)?;
    let (scheme, params) =
        settings(Some(args.qa), args.params.as_deref()).map_err(anyhow::Error::msg)?;
    let result = match &args.prev {
        Some(prev) => update(&read_pyccd_json(prev)?, &pixel.series(), scheme, &params),
        None => detect(&pixel.series(), scheme, &params),
    }
    .map_err(|e| anyhow::anyhow!("'{}': {e}", args.csv.display()))?;
    if let Some(png) = &args.plot {
        pixel_plot(&pixel, &result, params.avg_days_yr, png).map_err(anyhow::Error::msg)?;
    }
    let text = serde_json::to_string_pretty(&to_pyccd_json(&result)).map_err(anyhow::Error::msg)?;
    println!("{text}");
    Ok(())
}
