//! Extension codecs: ardent's raster tables and scans serialized for Ballista, everything else
//! delegated to Ballista's own codecs.
//!
//! A raster table travels as its catalogued [`Stack`] and [`RasterOptions`], a scan as its
//! [`ScanPlan`], both as versioned wire messages ([`super::wire`]): the catalog is not redone on
//! the scheduler or the executors, and executors read exactly the files the plan names (the
//! location must be readable from every executor: a shared path or an object-store URL).

use std::sync::Arc;

use super::wire::{decode, encode, Message, ScanMessage};
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
                Message::Scan(_) => Err(plan_datafusion_err!(
                    "table {table_ref}: a raster scan is not a table"
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
        match node.downcast_ref::<RasterTable>() {
            Some(table) => encode(
                &Message::Table {
                    stack: table.stack().as_ref().into(),
                    options: table.options().into(),
                },
                buf,
            ),
            None => self
                .ballista
                .try_encode_table_provider(table_ref, node, buf),
        }
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
                Message::Table { .. } => Err(plan_datafusion_err!(
                    "a raster table is not an execution plan"
                )),
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
        match node.downcast_ref::<RasterScanExec>() {
            Some(scan) => encode(&Message::Scan(ScanMessage::from(scan.plan())), buf),
            None => self.ballista.try_encode(node, buf, proto_converter),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        decode_udf(name, || self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }
}
