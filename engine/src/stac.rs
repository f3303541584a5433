//! STAC input: a stack listed by a STAC ItemCollection (or one Item) JSON file, as USGS's
//! LandsatLook STAC server publishes Collection 2 ARD (`landsat-c2ard-sr`, `-bt`): each item's
//! assets name band files by `href`. An asset's band, sensor, tile and date come from its file
//! name (the ARD name USGS keeps in every href), so items of the SR and BT collections of one
//! acquisition join into one acquisition, and assets that are no band (angles, metadata,
//! thumbnails) are passed over. An asset's `alternate.s3.href` (the requester-pays bucket) is
//! preferred to its `href` (LandsatLook's download links need a login); relative hrefs are
//! resolved against the JSON file's folder.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::ard::{ArdName, Band};
use crate::error::CatalogError;
use crate::location::Location;

/// One band file an item names.
#[derive(Clone, Debug)]
pub(crate) struct StacAsset {
    /// GDAL's path of the file.
    pub path: String,
    pub name: ArdName,
    pub band: Band,
}

/// The band files the STAC JSON `file` in `folder` lists, every store they live in made readable
/// by GDAL; an error names the file and the item at fault.
pub(crate) async fn assets(folder: &Location, file: &str) -> Result<Vec<StacAsset>, CatalogError> {
    let shown = folder.gdal_path(file);
    let bad = |message: String| CatalogError::Stac {
        file: shown.clone(),
        message,
    };
    let text = folder.read_text(file).await?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("it is not JSON: {e}")))?;
    let items: Vec<&Value> = match json["type"].as_str() {
        Some("FeatureCollection") => json["features"]
            .as_array()
            .ok_or_else(|| bad("an ItemCollection without 'features'".into()))?
            .iter()
            .collect(),
        Some("Feature") => vec![&json],
        other => {
            return Err(bad(format!(
                "expected a STAC ItemCollection or Item, found type {}",
                other.unwrap_or("none")
            )))
        }
    };
    let mut found = Vec::new();
    // The stores hrefs point into, each configured for GDAL once, not once per asset.
    let mut configured: BTreeSet<String> = BTreeSet::new();
    // Which items hold each acquisition's bands, to name them when one lacks a band.
    let mut acquisitions: BTreeMap<(String, String), (BTreeSet<Band>, Vec<String>)> =
        BTreeMap::new();
    for item in items {
        let id = item["id"].as_str().unwrap_or("(no id)").to_string();
        let assets = item["assets"]
            .as_object()
            .ok_or_else(|| bad(format!("item '{id}' has no assets")))?;
        for (key, asset) in assets {
            let href = asset["alternate"]["s3"]["href"]
                .as_str()
                .or_else(|| asset["href"].as_str())
                .ok_or_else(|| bad(format!("asset '{key}' of item '{id}' has no href")))?;
            let file_name = href.rsplit('/').next().unwrap_or(href);
            let Some(name) = ArdName::parse(file_name)? else {
                continue;
            };
            let Some(band) = name.band else {
                continue;
            };
            let path = resolve(folder, href, &mut configured)?;
            let acquisition = (name.tile.to_string(), name.acquired.to_string());
            let (bands, ids) = acquisitions.entry(acquisition).or_default();
            bands.insert(band);
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
            found.push(StacAsset { path, name, band });
        }
    }
    let all: BTreeSet<Band> = found.iter().map(|a| a.band).collect();
    for ((tile, date), (bands, ids)) in &acquisitions {
        if let Some(missing) = all.iter().find(|b| !bands.contains(b)) {
            return Err(bad(format!(
                "no asset for band '{missing}' in item {} ({tile}, {date}), though other items have one",
                ids.iter()
                    .map(|i| format!("'{i}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )));
        }
    }
    Ok(found)
}

/// GDAL's path of an href: relative to `folder`, an `s3://` URL (read with the folder's S3
/// settings), an `http(s)://` URL, or a local path.
fn resolve(
    folder: &Location,
    href: &str,
    configured: &mut BTreeSet<String>,
) -> Result<String, CatalogError> {
    if let Some(relative) = href
        .strip_prefix("./")
        .or_else(|| (!href.contains("://") && !href.starts_with('/')).then_some(href))
    {
        return Ok(folder.gdal_path(relative));
    }
    if href.starts_with("http://") || href.starts_with("https://") {
        return Ok(format!("/vsicurl/{href}"));
    }
    let (dir, file) = href.rsplit_once('/').unwrap_or(("", href));
    let location = Location::parse(dir, &folder.s3_options())?;
    if configured.insert(dir.to_string()) {
        location.configure_gdal()?;
    }
    Ok(location.gdal_path(file))
}
