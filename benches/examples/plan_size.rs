//! The size of the plans ardent sends to a cluster for scans of a tile-sized catalogue: one ARD
//! tile (5,000 x 5,000 px) with 1,500 acquisitions of 8 bands (12,000 files), as LCMAP's stacks
//! are. Nothing is read: the catalogue is built in memory and only planned.
//!
//! ```sh
//! cargo run --release -p ardent-benches --example plan_size
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use ardent_engine::ard::{ArdName, Band, Collection, Sensor, TileId};
use ardent_engine::catalog::{date32, Acquisition, Stack, TileStack};
use ardent_engine::distributed::{ArdentLogicalCodec, ArdentPhysicalCodec};
use ardent_engine::grid::Grid;
use ardent_engine::location::Location;
use ardent_engine::provider::{Layout, RasterOptions, RasterTable};
use chrono::NaiveDate;
use datafusion_proto::bytes::{
    logical_plan_to_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};

fn catalogue() -> Stack {
    let tile = TileId { h: 3, v: 8 };
    let root = "/data/ard/h003v008";
    let first = NaiveDate::from_ymd_opt(1985, 1, 1).expect("date");
    let acquisitions = (0..1500)
        .map(|k| {
            let acquired = first + chrono::Duration::days(8 * k);
            let produced = acquired + chrono::Duration::days(60);
            let sensor = if k % 2 == 0 {
                Sensor::Lt05
            } else {
                Sensor::Le07
            };
            let files: BTreeMap<Band, String> = Band::ALL
                .iter()
                .map(|&band| {
                    let name =
                        ArdName::file_name(Collection::C1, sensor, tile, acquired, produced, band);
                    (band, format!("{root}/{name}"))
                })
                .collect();
            Acquisition {
                date: date32(acquired),
                sensor: sensor.code().to_string(),
                files,
            }
        })
        .collect();
    Stack {
        location: Location::Local { root: root.into() },
        collection: Collection::C1,
        tiles: vec![TileStack {
            tile: tile.to_string(),
            grid: Grid::ard(tile, 5000, 5000),
            acquisitions,
        }],
        bands: Band::ALL.to_vec(),
    }
}

#[tokio::main]
async fn main() -> datafusion::error::Result<()> {
    let ctx = ardent_engine::session::local_session(Some(2));
    let options = RasterOptions {
        layout: Layout::Observations,
        ..RasterOptions::default()
    };
    let table = RasterTable::from_stack(Arc::new(catalogue()), options)?;
    ctx.register_table("ard", Arc::new(table))?;
    println!("query | logical plan bytes | physical plan bytes");
    for (what, sql) in [
        ("every band, every date", "SELECT * FROM ard"),
        (
            "red and nir of one year",
            "SELECT red, nir FROM ard WHERE date >= DATE '2016-01-01' AND date < DATE '2017-01-01'",
        ),
        (
            "one chip, qa only",
            "SELECT qa FROM ard WHERE row < 100 AND col < 100",
        ),
    ] {
        let frame = ctx.sql(sql).await?;
        let logical = logical_plan_to_bytes_with_extension_codec(
            frame.logical_plan(),
            &ArdentLogicalCodec::default(),
        )?;
        let physical = frame.create_physical_plan().await?;
        let physical =
            physical_plan_to_bytes_with_extension_codec(physical, &ArdentPhysicalCodec::default())?;
        println!("{what} | {} | {}", logical.len(), physical.len());
    }
    Ok(())
}
