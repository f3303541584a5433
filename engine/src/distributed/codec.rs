//! Extension codecs: ardent's raster tables and scans serialized for Ballista, everything else
//! delegated to Ballista's own codecs.
//!
//! A raster table travels as its catalogued [`Stack`] and [`RasterOptions`], a scan as its
//! [`ScanPlan`], both as versioned wire messages ([`super::wire`]): the catalog is not redone on
//! the scheduler or the executors, and executors read exactly the files the plan names (the
//! location must be readable from every executor: a shared path or an object-store URL).
//! A cached table travels as its definition with its lineage as DataFusion's plan bytes, a
//! cache scan with its planned lineage and where each partition was.

use std::sync::Arc;

use super::wire::{
    decode, encode, CacheControlMessage, CacheScanMessage, CachedTableMessage, Message,
    PartitionStateMessage, PlanBytes, ScanMessage,
};
use crate::cache::control::{CacheControlTable, ControlOp};
use crate::cache::exec::{CacheScan, CacheScanExec, PartitionState};
use crate::cache::fingerprint::Fingerprint;
use crate::cache::statement::OnChange;
use crate::cache::table::{CacheDefinition, CachedTable};
use crate::cache::Storage;
use crate::catalog::Stack;
use crate::provider::{RasterOptions, RasterScanExec, RasterTable, ScanPlan};
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{plan_datafusion_err, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

/// Makes a decoded stack's files readable here (object-store settings) before anything reads them.
fn configure_object_store_access(stack: &Stack) -> Result<()> {
    Ok(stack.location.configure_gdal()?)
}

/// ardent's UDFs by name, so that plans decode where no registry holds them; other names go to
/// `fallback` (Ballista's codec).
fn decode_udf(
    name: &str,
    fallback: impl FnOnce() -> Result<Arc<ScalarUDF>>,
) -> Result<Arc<ScalarUDF>> {
    match ardent_udfs::all_udfs()
        .into_iter()
        .find(|u| u.name() == name)
    {
        Some(udf) => Ok(Arc::new(udf)),
        None => fallback(),
    }
}

/// The logical codec: raster tables, then Ballista's codec for everything else.
#[derive(Debug, Default)]
pub struct ArdentLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for ArdentLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match decode(buf) {
            Some(payload) => match payload? {
                Message::Table { stack, options } => {
                    let stack = Stack::try_from(stack)?;
                    configure_object_store_access(&stack)?;
                    let options = RasterOptions::try_from(options)?;
                    Ok(Arc::new(RasterTable::from_stack(Arc::new(stack), options)?))
                }
                Message::CachedTable(message) => {
                    Ok(Arc::new(self.decode_cached_table(message, ctx)?))
                }
                Message::CacheControl(message) => Ok(Arc::new(CacheControlTable::new(
                    self.decode_control(message, ctx)?,
                ))),
                Message::Scan(_) | Message::CacheScan(_) => Err(plan_datafusion_err!(
                    "table {table_ref}: a scan is not a table"
                )),
            },
            None => self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(table) = node.downcast_ref::<RasterTable>() {
            return encode(
                &Message::Table {
                    stack: table.stack().as_ref().into(),
                    options: table.options().into(),
                },
                buf,
            );
        }
        if let Some(table) = node.downcast_ref::<CachedTable>() {
            return encode(&Message::CachedTable(self.encode_cached_table(table)?), buf);
        }
        if let Some(table) = node.downcast_ref::<CacheControlTable>() {
            return encode(
                &Message::CacheControl(self.encode_control(table.op())?),
                buf,
            );
        }
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, || self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }
}

impl ArdentLogicalCodec {
    fn plan_bytes(&self, plan: &LogicalPlan) -> Result<PlanBytes> {
        Ok(PlanBytes::new(&logical_plan_to_bytes_with_extension_codec(
            plan, self,
        )?))
    }

    fn plan(&self, bytes: &PlanBytes, ctx: &TaskContext) -> Result<LogicalPlan> {
        logical_plan_from_bytes_with_extension_codec(&bytes.bytes()?, ctx, self)
    }

    fn encode_cached_table(&self, table: &CachedTable) -> Result<CachedTableMessage> {
        let d = table.definition();
        Ok(CachedTableMessage {
            id: d.id.clone(),
            name: d.name.clone(),
            storage: d.storage.to_string(),
            refresh_on_change: d.on_change == OnChange::Refresh,
            lineage: self.plan_bytes(&d.lineage)?,
            target_partitions: d.target_partitions,
            partitions: d.partitions,
            files: d.fingerprint.files.clone(),
            created_at: d.created_at,
        })
    }

    fn decode_cached_table(&self, m: CachedTableMessage, ctx: &TaskContext) -> Result<CachedTable> {
        let definition = CacheDefinition {
            lineage: self.plan(&m.lineage, ctx)?,
            storage: m.storage.parse::<Storage>()?,
            on_change: if m.refresh_on_change {
                OnChange::Refresh
            } else {
                OnChange::Error
            },
            id: m.id,
            name: m.name,
            target_partitions: m.target_partitions,
            partitions: m.partitions,
            fingerprint: Fingerprint { files: m.files },
            created_at: m.created_at,
        };
        // What the name meant before stays with the client that cached it.
        Ok(CachedTable::new(definition, None))
    }

    fn encode_control(&self, op: &ControlOp) -> Result<CacheControlMessage> {
        Ok(match op {
            ControlOp::Prepare {
                lineage,
                target_partitions,
            } => CacheControlMessage::Prepare {
                lineage: self.plan_bytes(lineage)?,
                target_partitions: *target_partitions,
            },
            ControlOp::Drop { id } => CacheControlMessage::Drop { id: id.clone() },
            ControlOp::Inventory => CacheControlMessage::Inventory,
        })
    }

    fn decode_control(&self, m: CacheControlMessage, ctx: &TaskContext) -> Result<ControlOp> {
        Ok(match m {
            CacheControlMessage::Prepare {
                lineage,
                target_partitions,
            } => ControlOp::Prepare {
                lineage: self.plan(&lineage, ctx)?,
                target_partitions,
            },
            CacheControlMessage::Drop { id } => ControlOp::Drop { id },
            CacheControlMessage::Inventory => ControlOp::Inventory,
        })
    }
}

/// The physical codec: raster scans, then Ballista's codec for everything else.
#[derive(Debug, Default)]
pub struct ArdentPhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for ArdentPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match decode(buf) {
            Some(payload) => match payload? {
                Message::Scan(scan) => {
                    let plan = ScanPlan::try_from(scan)?;
                    configure_object_store_access(&plan.stack)?;
                    Ok(Arc::new(RasterScanExec::try_from_parts(plan, inputs)?))
                }
                Message::CacheScan(m) => {
                    let [partitions] = inputs else {
                        return Err(plan_datafusion_err!(
                            "a cache scan needs one partition table, got {}",
                            inputs.len()
                        ));
                    };
                    let lineage = physical_plan_from_bytes_with_extension_codec(
                        &m.lineage.bytes()?,
                        ctx,
                        self,
                    )?;
                    let scan = CacheScan {
                        name: m.name,
                        key: m.key,
                        storage: m.storage.parse::<Storage>()?,
                        lineage,
                        states: m.states.into_iter().map(PartitionState::from).collect(),
                    };
                    Ok(Arc::new(CacheScanExec::try_from_parts(
                        Arc::new(scan),
                        m.projection,
                        Arc::clone(partitions),
                    )?))
                }
                Message::Table { .. } | Message::CachedTable(_) | Message::CacheControl(_) => {
                    Err(plan_datafusion_err!("a table is not an execution plan"))
                }
            },
            None => self.ballista.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<RasterScanExec>() {
            return encode(&Message::Scan(ScanMessage::from(scan.plan())), buf);
        }
        if let Some(exec) = node.downcast_ref::<CacheScanExec>() {
            let scan = exec.scan();
            let lineage =
                physical_plan_to_bytes_with_extension_codec(Arc::clone(&scan.lineage), self)?;
            let message = CacheScanMessage {
                name: scan.name.clone(),
                key: scan.key.clone(),
                storage: scan.storage.to_string(),
                lineage: PlanBytes::new(&lineage),
                states: scan
                    .states
                    .iter()
                    .map(PartitionStateMessage::from)
                    .collect(),
                projection: exec.projection().map(<[usize]>::to_vec),
            };
            return encode(&Message::CacheScan(message), buf);
        }
        self.ballista.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, || self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }
}
