//! Stacks in an S3-compatible object store: moto's server on a loopback port, uploaded with boto3,
//! read by ardent through object_store (listing) and GDAL's /vsis3/ (pixels).

use crate::common::*;

#[tokio::test]
async fn s3_stack_reads_like_the_local_one() {
    let moto = Moto::start();
    moto.upload(stack(), "ard", "stacks/h003v008");

    let ctx = session(2);
    let options = format!(
        "'aws.endpoint' '{}', 'aws.access_key_id' 'testing', 'aws.secret_access_key' 'testing', 'aws.region' 'us-east-1'",
        moto.endpoint
    );
    query(&ctx, &format!("CREATE EXTERNAL TABLE remote STORED AS RASTER LOCATION 's3://ard/stacks/h003v008' OPTIONS ('layout' 'observations', {options})")).await;
    query(&ctx, &format!("CREATE EXTERNAL TABLE local STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations')", stack().display())).await;
    let summary = "SELECT count(*) AS n, sum(red) AS red, sum(qa) AS qa, sum(thermal) AS thermal, min(date) AS first, max(date) AS last FROM";
    let remote = query(&ctx, &format!("{summary} remote WHERE row < 12")).await;
    let local = query(&ctx, &format!("{summary} local WHERE row < 12")).await;
    assert_eq!(pretty(&remote), pretty(&local));

    let plan = query(&ctx, "EXPLAIN SELECT red FROM remote").await;
    assert!(pretty(&plan).contains("s3://ard/stacks/h003v008"));

    // A prefix with nothing under it is an empty location, named in the error.
    let err = ctx
        .sql(&format!("CREATE EXTERNAL TABLE none STORED AS RASTER LOCATION 's3://ard/nothing' OPTIONS ({options})"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("s3://ard/nothing") && err.contains("no raster files"),
        "{err}"
    );
}
