//! Stacks in an S3-compatible object store: moto's server on a loopback port, uploaded with boto3,
//! read by ardent through object_store (listing) and GDAL's /vsis3/ (pixels).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A moto S3 server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const UPLOAD: &str = r#"
import os, sys, boto3
endpoint, bucket, prefix, folder = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                  aws_secret_access_key="testing", region_name="us-east-1")
s3.create_bucket(Bucket=bucket)
for name in sorted(os.listdir(folder)):
    s3.upload_file(os.path.join(folder, name), bucket, prefix + "/" + name)
"#;

#[tokio::test]
async fn s3_stack_reads_like_the_local_one() {
    let moto = Moto::start();
    let upload = Command::new(python())
        .args([
            "-c",
            UPLOAD,
            &moto.endpoint,
            "ard",
            "stacks/h003v008",
            stack().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        upload.status.success(),
        "{}",
        String::from_utf8_lossy(&upload.stderr)
    );

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
