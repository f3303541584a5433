//! The fingerprint of a cache's source files: what a read compares to tell a stale cache.

use std::collections::BTreeMap;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::{source_as_provider, ViewTable};
use datafusion::error::Result;
use datafusion::logical_expr::LogicalPlan;

use crate::location::Location;
use crate::provider::RasterTable;

use super::table::CachedTable;

/// Every source file a plan reads, with its version (size and modification time, or ETag).
///
/// Raster stacks give the files their scans read; local listing tables (Parquet, CSV, ...)
/// the files under their paths; views and cached tables the sources of their own plans.
/// Tables without files (in-memory tables, values) add nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Shown path (as the user wrote the location, then the file) to version.
    pub files: BTreeMap<String, String>,
}

impl Fingerprint {
    /// The fingerprint of the sources of `plan`, read now.
    pub async fn of(plan: &LogicalPlan) -> Result<Self> {
        let mut groups: Vec<(Location, Option<Vec<String>>)> = Vec::new();
        collect_sources(plan, &mut groups)?;
        let mut files = BTreeMap::new();
        for (location, relative) in groups {
            let relative = match relative {
                Some(files) => files,
                None => location.list().await?,
            };
            let versions = location.file_versions(&relative).await?;
            for (file, version) in relative.iter().zip(versions) {
                files.insert(join_shown(&location, file), version);
            }
        }
        Ok(Self { files })
    }

    /// A short digest, stable across processes and builds: a cache's partitions are stored
    /// under it, so a changed source lands on new keys.
    pub fn digest(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        for (file, version) in &self.files {
            hasher.update(file.as_bytes());
            hasher.update(&[0]);
            hasher.update(version.as_bytes());
            hasher.update(&[0]);
        }
        hasher.finalize().to_hex()[..16].to_string()
    }

    /// The first file whose version differs between `self` (recorded) and `now`, as a phrase
    /// naming it and what changed.
    pub fn first_change(&self, now: &Fingerprint) -> Option<String> {
        for (file, version) in &self.files {
            match now.files.get(file) {
                Some(v) if v == version => {}
                Some(v) if v == "missing" => return Some(format!("'{file}' was removed")),
                Some(v) => return Some(format!("'{file}' changed ({version} -> {v})")),
                None => return Some(format!("'{file}' is no longer read")),
            }
        }
        now.files
            .keys()
            .find(|f| !self.files.contains_key(*f))
            .map(|f| format!("'{f}' was added"))
    }
}

fn join_shown(location: &Location, file: &str) -> String {
    format!("{}/{file}", location.to_string().trim_end_matches('/'))
}

/// The files of a source: these under a location, or every file under it (`None`).
type Source = (Location, Option<Vec<String>>);

/// Adds the sources of every table `plan` scans, through views and subqueries.
fn collect_sources(plan: &LogicalPlan, groups: &mut Vec<Source>) -> Result<()> {
    plan.apply_with_subqueries(|node| {
        let LogicalPlan::TableScan(scan) = node else {
            return Ok(TreeNodeRecursion::Continue);
        };
        let Ok(provider) = source_as_provider(&scan.source) else {
            return Ok(TreeNodeRecursion::Continue);
        };
        if let Some(raster) = provider.downcast_ref::<RasterTable>() {
            let stack = raster.stack();
            let files = stack
                .tiles
                .iter()
                .flat_map(|t| &t.acquisitions)
                .flat_map(|a| a.files.values().cloned())
                .collect();
            groups.push((stack.location.clone(), Some(files)));
        } else if let Some(view) = provider.downcast_ref::<ViewTable>() {
            collect_sources(view.logical_plan(), groups)?;
        } else if let Some(cached) = provider.downcast_ref::<CachedTable>() {
            collect_sources(cached.definition().lineage(), groups)?;
        } else if let Some(listing) = provider.downcast_ref::<ListingTable>() {
            for url in listing.table_paths() {
                if url.scheme() != "file" {
                    continue;
                }
                let path = std::path::PathBuf::from(format!("/{}", url.prefix()));
                let source = match (path.parent(), path.file_name()) {
                    (Some(parent), Some(name)) if !path.is_dir() => (
                        Location::Local {
                            root: parent.to_path_buf(),
                        },
                        Some(vec![name.to_string_lossy().into_owned()]),
                    ),
                    _ => (Location::Local { root: path }, None),
                };
                groups.push(source);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map(|_| ())
}
