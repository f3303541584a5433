//! The wire format of ardent's plan nodes: explicit, versioned messages, kept apart from the
//! engine's own structs so that a field renamed inside the engine does not silently change what a
//! scheduler or executor of another build reads.
//!
//! A payload is `ardent/<version>:` followed by a JSON [`Message`]. A payload of another version
//! is refused with a message naming both versions: a mixed-version cluster fails clearly at the
//! first plan, never by misreading one. Nothing in these messages can hold a credential: a
//! location carries its bucket, prefix, endpoint and region only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::common::{internal_datafusion_err, plan_datafusion_err, plan_err, Result};
use serde::{Deserialize, Serialize};

use crate::ard::Band;
use crate::cache::exec::PartitionState;
use crate::catalog::{Acquisition, Stack, TileStack};
use crate::grid::{Grid, Window};
use crate::location::{Location, S3Options};
use crate::provider::{ChipTask, Column, Layout, RasterOptions, ScanPlan};

/// The version this build writes and reads. Bump it with any change to the messages below.
pub const VERSION: u32 = 3;

/// Every ardent payload starts with this, then the version and a colon.
const PREFIX: &[u8] = b"ardent/";

/// A plan node of ardent's.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Message {
    /// A raster table: its catalogued stack and options (for logical plans).
    Table {
        stack: StackMessage,
        options: OptionsMessage,
    },
    /// A raster scan: what it reads and how (for physical plans).
    Scan(ScanMessage),
    /// A cached table: its definition, with its lineage as DataFusion's protobuf bytes (for
    /// logical plans).
    CachedTable(CachedTableMessage),
    /// A cache scan: its lineage as a physical plan and where its partitions were (for
    /// physical plans).
    CacheScan(CacheScanMessage),
    /// An operation on the caches, performed where the plan is planned (for logical plans).
    CacheControl(CacheControlMessage),
}

/// Plan bytes inside a JSON message, as base64.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanBytes(pub String);

impl PlanBytes {
    pub fn new(bytes: &[u8]) -> Self {
        use base64::Engine;
        Self(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn bytes(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(&self.0)
            .map_err(|e| plan_datafusion_err!("decoding a cache's plan: {e}"))
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachedTableMessage {
    pub id: String,
    pub name: String,
    pub storage: String,
    pub refresh_on_change: bool,
    pub lineage: PlanBytes,
    pub target_partitions: usize,
    pub partitions: usize,
    /// Source file to version.
    pub files: BTreeMap<String, String>,
    pub created_at: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PartitionStateMessage {
    New,
    Held {
        executor: String,
        host: String,
        port: u16,
    },
    Lost,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheScanMessage {
    pub name: String,
    pub key: String,
    pub storage: String,
    pub lineage: PlanBytes,
    pub states: Vec<PartitionStateMessage>,
    pub projection: Option<Vec<usize>>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CacheControlMessage {
    Prepare {
        lineage: PlanBytes,
        target_partitions: usize,
    },
    Drop {
        id: String,
    },
    Inventory,
}

impl From<&PartitionState> for PartitionStateMessage {
    fn from(state: &PartitionState) -> Self {
        match state {
            PartitionState::New => Self::New,
            PartitionState::Held {
                executor,
                host,
                port,
            } => Self::Held {
                executor: executor.clone(),
                host: host.clone(),
                port: *port,
            },
            PartitionState::Lost => Self::Lost,
        }
    }
}

impl From<PartitionStateMessage> for PartitionState {
    fn from(state: PartitionStateMessage) -> Self {
        match state {
            PartitionStateMessage::New => Self::New,
            PartitionStateMessage::Held {
                executor,
                host,
                port,
            } => Self::Held {
                executor,
                host,
                port,
            },
            PartitionStateMessage::Lost => Self::Lost,
        }
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LocationMessage {
    Local {
        root: String,
    },
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        region: Option<String>,
        request_payer: bool,
    },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridMessage {
    pub crs_wkt: String,
    pub transform: [f64; 6],
    pub width: usize,
    pub height: usize,
}

/// One acquisition: its files in the order of the stack's `bands`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcquisitionMessage {
    pub date: i32,
    pub sensor: String,
    pub files: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileMessage {
    pub tile: String,
    pub grid: GridMessage,
    pub acquisitions: Vec<AcquisitionMessage>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackMessage {
    pub location: LocationMessage,
    /// `c1` or `c2`.
    pub collection: String,
    pub bands: Vec<String>,
    pub tiles: Vec<TileMessage>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsMessage {
    pub layout: String,
    pub chip_size: usize,
    pub chips_per_partition: Option<usize>,
    pub batch_pixels: usize,
    pub bands: Option<Vec<String>>,
    pub start: Option<i32>,
    pub end: Option<i32>,
    pub manifest: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipMessage {
    pub tile: usize,
    pub chip_x: i64,
    pub chip_y: i64,
    /// Column, row, width, height of the window read.
    pub window: [usize; 4],
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanMessage {
    pub stack: StackMessage,
    pub layout: String,
    pub columns: Vec<String>,
    pub chips: Vec<ChipMessage>,
    pub chips_per_partition: usize,
    pub batch_pixels: usize,
    pub pushed: String,
    pub chips_total: usize,
    pub acquisitions_total: usize,
}

/// Writes `message` as a payload of this version.
pub fn encode(message: &Message, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(PREFIX);
    buf.extend_from_slice(format!("{VERSION}:").as_bytes());
    serde_json::to_writer(buf, message)
        .map_err(|e| internal_datafusion_err!("encoding an ardent plan node: {e}"))
}

/// The message in `buf` if ardent wrote it (`None` for another codec's payload); an error for a
/// payload of another version or a malformed one.
pub fn decode(buf: &[u8]) -> Option<Result<Message>> {
    let rest = buf.strip_prefix(PREFIX)?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let version = std::str::from_utf8(&rest[..colon])
        .ok()?
        .parse::<u32>()
        .ok()?;
    if version != VERSION {
        return Some(plan_err!(
            "this plan was written in ardent's plan format {version}, but this process reads \
             format {VERSION}: run the same ardent version on the client, the scheduler and \
             every executor"
        ));
    }
    Some(
        serde_json::from_slice(&rest[colon + 1..]).map_err(|e| {
            plan_datafusion_err!("decoding an ardent plan node (format {VERSION}): {e}")
        }),
    )
}

impl From<&Location> for LocationMessage {
    fn from(location: &Location) -> Self {
        match location {
            Location::Local { root } => LocationMessage::Local {
                root: root.display().to_string(),
            },
            Location::S3 {
                bucket,
                prefix,
                options,
            } => LocationMessage::S3 {
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                endpoint: options.endpoint.clone(),
                region: options.region.clone(),
                request_payer: options.request_payer,
            },
        }
    }
}

impl From<LocationMessage> for Location {
    fn from(message: LocationMessage) -> Self {
        match message {
            LocationMessage::Local { root } => Location::Local {
                root: PathBuf::from(root),
            },
            LocationMessage::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                request_payer,
            } => Location::S3 {
                bucket,
                prefix,
                options: S3Options {
                    endpoint,
                    region,
                    request_payer,
                    ..S3Options::default()
                },
            },
        }
    }
}

fn band(name: &str) -> Result<Band> {
    name.parse()
        .map_err(|e| plan_datafusion_err!("decoding an ardent plan node: {e}"))
}

impl From<&Stack> for StackMessage {
    fn from(stack: &Stack) -> Self {
        let tiles = stack
            .tiles
            .iter()
            .map(|t| TileMessage {
                tile: t.tile.clone(),
                grid: GridMessage {
                    crs_wkt: t.grid.crs_wkt.clone(),
                    transform: t.grid.transform,
                    width: t.grid.width,
                    height: t.grid.height,
                },
                acquisitions: t
                    .acquisitions
                    .iter()
                    .map(|a| AcquisitionMessage {
                        date: a.date,
                        sensor: a.sensor.clone(),
                        files: stack
                            .bands
                            .iter()
                            .filter_map(|b| a.files.get(b).cloned())
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        StackMessage {
            location: LocationMessage::from(&stack.location),
            collection: stack.collection.name().to_string(),
            bands: stack.bands.iter().map(|b| b.name().to_string()).collect(),
            tiles,
        }
    }
}

impl TryFrom<StackMessage> for Stack {
    type Error = datafusion::error::DataFusionError;

    fn try_from(message: StackMessage) -> Result<Self> {
        let bands = message
            .bands
            .iter()
            .map(|b| band(b))
            .collect::<Result<Vec<_>>>()?;
        let tiles = message
            .tiles
            .into_iter()
            .map(|t| {
                let acquisitions = t
                    .acquisitions
                    .into_iter()
                    .map(|a| {
                        if a.files.len() != bands.len() {
                            return plan_err!(
                                "decoding an ardent plan node: an acquisition of tile {} has {} files for {} bands",
                                t.tile,
                                a.files.len(),
                                bands.len()
                            );
                        }
                        Ok(Acquisition {
                            date: a.date,
                            sensor: a.sensor,
                            files: bands.iter().copied().zip(a.files).collect::<BTreeMap<_, _>>(),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(TileStack {
                    tile: t.tile,
                    grid: Grid {
                        crs_wkt: t.grid.crs_wkt,
                        transform: t.grid.transform,
                        width: t.grid.width,
                        height: t.grid.height,
                    },
                    acquisitions,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let collection = message
            .collection
            .parse()
            .map_err(|e| plan_datafusion_err!("decoding an ardent plan node: {e}"))?;
        Ok(Stack {
            location: message.location.into(),
            collection,
            tiles,
            bands,
        })
    }
}

impl From<&RasterOptions> for OptionsMessage {
    fn from(o: &RasterOptions) -> Self {
        OptionsMessage {
            layout: o.layout.to_string(),
            chip_size: o.chip_size,
            chips_per_partition: o.chips_per_partition,
            batch_pixels: o.batch_pixels,
            bands: o
                .bands
                .as_ref()
                .map(|b| b.iter().map(|b| b.name().to_string()).collect()),
            start: o.start,
            end: o.end,
            manifest: o.manifest.clone(),
        }
    }
}

impl TryFrom<OptionsMessage> for RasterOptions {
    type Error = datafusion::error::DataFusionError;

    fn try_from(m: OptionsMessage) -> Result<Self> {
        Ok(RasterOptions {
            layout: layout(&m.layout)?,
            chip_size: m.chip_size,
            chips_per_partition: m.chips_per_partition,
            batch_pixels: m.batch_pixels,
            bands: m
                .bands
                .map(|b| b.iter().map(|b| band(b)).collect::<Result<Vec<_>>>())
                .transpose()?,
            start: m.start,
            end: m.end,
            manifest: m.manifest,
            // The stack's location already holds the endpoint and region; credentials never travel.
            s3: S3Options::default(),
        })
    }
}

fn layout(name: &str) -> Result<Layout> {
    name.parse()
        .map_err(|e| plan_datafusion_err!("decoding an ardent plan node: {e}"))
}

impl From<&ScanPlan> for ScanMessage {
    fn from(p: &ScanPlan) -> Self {
        ScanMessage {
            stack: StackMessage::from(p.stack.as_ref()),
            layout: p.layout.to_string(),
            columns: p.columns.iter().map(|c| c.name().to_string()).collect(),
            chips: p
                .chips
                .iter()
                .map(|c| ChipMessage {
                    tile: c.tile,
                    chip_x: c.chip_x,
                    chip_y: c.chip_y,
                    window: [c.window.col, c.window.row, c.window.width, c.window.height],
                })
                .collect(),
            chips_per_partition: p.chips_per_partition,
            batch_pixels: p.batch_pixels,
            pushed: p.pushed.clone(),
            chips_total: p.chips_total,
            acquisitions_total: p.acquisitions_total,
        }
    }
}

impl TryFrom<ScanMessage> for ScanPlan {
    type Error = datafusion::error::DataFusionError;

    fn try_from(m: ScanMessage) -> Result<Self> {
        let layout = layout(&m.layout)?;
        let stack = Stack::try_from(m.stack)?;
        let columns = m
            .columns
            .iter()
            .map(|name| {
                Column::from_name(name, layout).ok_or_else(|| {
                    plan_datafusion_err!(
                        "decoding an ardent plan node: no column '{name}' in the {layout} layout"
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let chips = m
            .chips
            .into_iter()
            .map(|c| {
                if c.tile >= stack.tiles.len() {
                    return plan_err!(
                        "decoding an ardent plan node: a chip of tile {} in a scan of {} tiles",
                        c.tile,
                        stack.tiles.len()
                    );
                }
                let [col, row, width, height] = c.window;
                Ok(ChipTask {
                    tile: c.tile,
                    chip_x: c.chip_x,
                    chip_y: c.chip_y,
                    window: Window {
                        col,
                        row,
                        width,
                        height,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScanPlan {
            stack: Arc::new(stack),
            layout,
            columns,
            chips,
            chips_per_partition: m.chips_per_partition,
            batch_pixels: m.batch_pixels,
            pushed: m.pushed,
            chips_total: m.chips_total,
            acquisitions_total: m.acquisitions_total,
        })
    }
}
