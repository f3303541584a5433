//! The extension codecs: raster tables, scans and ardent's UDFs survive serialization into a
//! process that knows nothing of ardent (as a Ballista scheduler or executor receives them).

use ardent_engine::distributed::{ArdentLogicalCodec, ArdentPhysicalCodec};
use ardent_engine::provider::RasterScanExec;
use datafusion::physical_plan::collect;
use datafusion::prelude::SessionContext;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};

use crate::common::*;

fn sql() -> String {
    format!(
        "SELECT row, col, ndvi(red, nir)[2] AS second_ndvi,
                composite('median', dates, ndvi(red, nir), qa, 'c1', DATE '2014-01-01', DATE '2015-01-01') AS ndvi_2014,
                qa_class(qa[1], 'c1') AS first_class
         FROM raster_pixels('{}', 'chip_size', '10') WHERE row BETWEEN 3 AND 12 AND col < 15
         ORDER BY row, col",
        stack().display()
    )
}

#[tokio::test]
async fn logical_plans_travel_with_their_raster_tables_and_udfs() {
    let ctx = session(2);
    let frame = ctx.sql(&sql()).await.unwrap();
    let plan = frame.logical_plan().clone();
    let expected = pretty(&frame.collect().await.unwrap());

    let bytes =
        logical_plan_to_bytes_with_extension_codec(&plan, &ArdentLogicalCodec::default()).unwrap();
    let elsewhere = SessionContext::new();
    let decoded = logical_plan_from_bytes_with_extension_codec(
        &bytes,
        &elsewhere.task_ctx(),
        &ArdentLogicalCodec::default(),
    )
    .unwrap();
    let got = elsewhere
        .execute_logical_plan(decoded)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(pretty(&got), expected);
    assert_eq!(rows(&got), 10 * 15);
}

#[tokio::test]
async fn physical_plans_travel_with_their_raster_scans() {
    let ctx = session(2);
    let plan = ctx
        .sql(&sql())
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let expected = pretty(&collect(plan.clone(), ctx.task_ctx()).await.unwrap());

    let bytes =
        physical_plan_to_bytes_with_extension_codec(plan, &ArdentPhysicalCodec::default()).unwrap();
    let elsewhere = SessionContext::new();
    let decoded = physical_plan_from_bytes_with_extension_codec(
        &bytes,
        &elsewhere.task_ctx(),
        &ArdentPhysicalCodec::default(),
    )
    .unwrap();
    let mut scans = 0;
    let mut stack = vec![decoded.clone()];
    while let Some(node) = stack.pop() {
        if let Some(scan) = node.downcast_ref::<RasterScanExec>() {
            scans += 1;
            assert_eq!(
                scan.plan().chips.len(),
                4,
                "chips cut by the pushed row/col bounds"
            );
        }
        stack.extend(node.children().into_iter().cloned());
    }
    assert_eq!(scans, 1);
    let got = collect(decoded, elsewhere.task_ctx()).await.unwrap();
    assert_eq!(pretty(&got), expected);
}

#[test]
fn foreign_payloads_are_errors_not_panics() {
    use datafusion_proto::physical_plan::{DefaultPhysicalProtoConverter, PhysicalExtensionCodec};
    let ctx = SessionContext::new();
    let err = ArdentPhysicalCodec::default()
        .try_decode(
            b"ardent/1:{not json",
            &[],
            &ctx.task_ctx(),
            &DefaultPhysicalProtoConverter {},
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("decoding an ardent plan node"), "{err}");
}
