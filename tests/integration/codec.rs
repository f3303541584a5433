//! The extension codecs: raster tables, scans and ardent's UDFs survive serialization into a
//! process that knows nothing of ardent (as a Ballista scheduler or executor receives them).

use ardent_engine::distributed::{ArdentLogicalCodec, ArdentPhysicalCodec};
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
    let plan = physical_plan(&ctx, &sql()).await;
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
    let scans = raster_scans(&decoded);
    assert_eq!(scans.len(), 1);
    assert_eq!(
        scans[0].chips.len(),
        4,
        "chips cut by the pushed row/col bounds"
    );
    let got = collect(decoded, elsewhere.task_ctx()).await.unwrap();
    assert_eq!(pretty(&got), expected);
}

/// The physical plan of `sql`, serialized.
async fn physical_bytes(ctx: &SessionContext, sql: &str) -> Vec<u8> {
    let plan = physical_plan(ctx, sql).await;
    physical_plan_to_bytes_with_extension_codec(plan, &ArdentPhysicalCodec::default())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn wire_messages_round_trip() {
    use ardent_engine::distributed::wire::{decode, encode, Message, ScanMessage};
    let ctx = session(2);
    let scans = raster_scans(&physical_plan(&ctx, &sql()).await);
    let [scan] = scans.as_slice() else {
        panic!("{} raster scans", scans.len())
    };
    let mut buf = Vec::new();
    encode(&Message::Scan(ScanMessage::from(scan)), &mut buf).unwrap();
    assert!(
        buf.starts_with(b"ardent/3:"),
        "{}",
        String::from_utf8_lossy(&buf[..20])
    );
    let Message::Scan(message) = decode(&buf).unwrap().unwrap() else {
        panic!("not a scan")
    };
    assert_eq!(
        &ardent_engine::provider::ScanPlan::try_from(message).unwrap(),
        scan
    );
}

#[test]
fn plans_of_the_previous_format_are_refused_by_name() {
    use datafusion_proto::physical_plan::{DefaultPhysicalProtoConverter, PhysicalExtensionCodec};
    let ctx = SessionContext::new();
    // What format 1 wrote: serde of the engine's ScanPlan struct.
    let old = br#"ardent/1:{"RasterScan":{"stack":{"location":{"Local":{"root":"/x"}},"tiles":[],"bands":[]},"layout":"Pixels","columns":[],"chips":[],"chips_per_partition":1,"acquisitions":[],"batch_pixels":1000,"bounds":{},"chips_total":0}}"#;
    let err = ArdentPhysicalCodec::default()
        .try_decode(old, &[], &ctx.task_ctx(), &DefaultPhysicalProtoConverter {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("plan format 1")
            && err.contains("reads format 3")
            && err.contains("same ardent version"),
        "{err}"
    );
}

/// A scan carries the tiles, acquisitions and bands it reads, not the whole catalogue.
#[tokio::test]
async fn scans_carry_only_what_they_read() {
    let ctx = session(1);
    let location = stack().display().to_string();
    query(&ctx, &format!("CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' 'observations')")).await;
    let all = physical_bytes(&ctx, "SELECT * FROM obs").await;
    let some = physical_bytes(&ctx, "SELECT red FROM obs WHERE date < DATE '2014-04-01'").await;
    let text = String::from_utf8_lossy(&some);
    let tifs = |t: &str| t.matches(".tif").count();
    let files_all = tifs(&String::from_utf8_lossy(&all));
    assert_eq!(
        files_all,
        acquisitions(stack()) * 8,
        "every file of the stack once"
    );
    let dates = scalar(
        &ctx,
        "SELECT count(DISTINCT date) FROM obs WHERE date < DATE '2014-04-01'",
    )
    .await;
    assert_eq!(
        tifs(&text).to_string(),
        dates,
        "one file per acquisition read: {text}"
    );
    assert!(!text.contains("PIXELQA"), "only the red band's files");
    assert!(
        some.len() * 4 < all.len(),
        "{} vs {} bytes",
        some.len(),
        all.len()
    );
}

/// Credentials given in table options never enter a plan, `EXPLAIN VERBOSE` or `Debug`.
#[tokio::test]
async fn secrets_stay_out_of_plans() {
    let ctx = session(1);
    let secret = "tHiS-iS-tHe-SeCrEt-0123456789";
    let token = "tOkEn-9876543210-session";
    let location = stack().display().to_string();
    // A local stack with S3 options is catalogued like any other; the options go with the table.
    query(&ctx, &format!(
        "CREATE EXTERNAL TABLE t STORED AS RASTER LOCATION '{location}' OPTIONS ('aws.access_key_id' 'AKIAEXAMPLE', 'aws.secret_access_key' '{secret}', 'aws.session_token' '{token}')"
    )).await;
    let frame = ctx.sql("SELECT red FROM t WHERE row < 3").await.unwrap();
    let logical = logical_plan_to_bytes_with_extension_codec(
        frame.logical_plan(),
        &ArdentLogicalCodec::default(),
    )
    .unwrap();
    let physical = physical_bytes(&ctx, "SELECT red FROM t WHERE row < 3").await;
    let explain = pretty(&query(&ctx, "EXPLAIN VERBOSE SELECT red FROM t WHERE row < 3").await);
    let debug = format!("{:?}", frame.logical_plan());
    let options =
        ardent_engine::provider::RasterOptions::from_pairs([("aws.secret_access_key", secret)])
            .unwrap();
    for (what, text) in [
        (
            "logical plan",
            String::from_utf8_lossy(&logical).into_owned(),
        ),
        (
            "physical plan",
            String::from_utf8_lossy(&physical).into_owned(),
        ),
        ("EXPLAIN VERBOSE", explain),
        ("Debug of the plan", debug),
        ("Debug of the options", format!("{options:?}")),
    ] {
        assert!(
            !text.contains(secret) && !text.contains(token),
            "{what} holds a secret: {text}"
        );
    }
    assert!(format!("{options:?}").contains("<redacted>"));
}

#[test]
fn foreign_payloads_are_errors_not_panics() {
    use datafusion_proto::physical_plan::{DefaultPhysicalProtoConverter, PhysicalExtensionCodec};
    let ctx = SessionContext::new();
    let err = ArdentPhysicalCodec::default()
        .try_decode(
            b"ardent/3:{not json",
            &[],
            &ctx.task_ctx(),
            &DefaultPhysicalProtoConverter {},
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("decoding an ardent plan node"), "{err}");
}
