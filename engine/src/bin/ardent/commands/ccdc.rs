//! `ardent ccdc`: CCDC on one pixel's CSV, printed as pyccd-shaped JSON.

use std::path::PathBuf;

use ardent_engine::ccdc::{to_pyccd_json, PixelCsv};
use ardent_udfs::kernels::ccdc::{detect, Params, QaCoding};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qa {
    /// Collection 1 ARD pixel_qa bits (pyccd's default).
    C1,
    /// CFMask codes: 0 clear, 1 water, 2 shadow, 3 snow, 4 cloud, 255 fill.
    Cfmask,
    /// Collection 2 QA_PIXEL bits.
    C2,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV with columns ordinal_date,blue,green,red,nir,swir1,swir2,thermal,qa.
    #[arg(long)]
    pub csv: PathBuf,
    /// How the qa column is coded.
    #[arg(long, value_enum, default_value = "c1")]
    pub qa: Qa,
    /// pyccd parameters to override, as JSON (e.g. '{"MEOW_SIZE": 16}').
    #[arg(long)]
    pub params: Option<String>,
}

pub fn run(args: Args) -> Result<(), String> {
    let pixel = PixelCsv::read(&args.csv)?;
    let (base, coding) = match args.qa {
        Qa::C1 => (Params::default(), QaCoding::C1),
        Qa::Cfmask => (Params::cfmask(), QaCoding::Codes),
        Qa::C2 => (Params::default(), QaCoding::C2),
    };
    let params = match &args.params {
        Some(json) => {
            let mut merged = serde_json::to_value(&base).map_err(|e| e.to_string())?;
            let overrides: serde_json::Value =
                serde_json::from_str(json).map_err(|e| format!("--params is not JSON: {e}"))?;
            let (Some(m), Some(o)) = (merged.as_object_mut(), overrides.as_object()) else {
                return Err("--params must be a JSON object".into());
            };
            m.extend(o.clone());
            Params::from_json(&merged.to_string())?
        }
        None => base,
    };
    let result = detect(&pixel.series(), coding, &params)
        .map_err(|e| format!("'{}': {e}", args.csv.display()))?;
    let text = serde_json::to_string_pretty(&to_pyccd_json(&result)).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}
