//! Stacks in an S3-compatible object store: moto's server on a loopback port, uploaded with boto3,
//! read by ardent through object_store (listing) and GDAL's /vsis3/ (pixels).

use std::time::Duration;

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

#[tokio::test]
async fn requester_pays_reaches_the_store_as_the_request_header() {
    let moto = Moto::start();
    // A bucket of its own: GDAL's settings are per bucket name in the process.
    moto.upload(stack(), "paid-ard", "payer/h003v008");
    moto.recorder("start-recording");
    let ctx = session(1);
    let options = format!(
        "'aws.endpoint' '{}', 'aws.access_key_id' 'testing', 'aws.secret_access_key' 'testing', \
         'aws.region' 'us-east-1', 'aws.request_payer' 'true'",
        moto.endpoint
    );
    query(&ctx, &format!("CREATE EXTERNAL TABLE paid STORED AS RASTER LOCATION 's3://paid-ard/payer/h003v008' OPTIONS ('layout' 'observations', {options})")).await;
    let n = scalar(
        &ctx,
        "SELECT count(red) FROM paid WHERE row = 0 AND col = 0",
    )
    .await;
    assert_ne!(n, "0");
    let recording = moto.recorder("download-recording");
    let requests: Vec<serde_json::Value> = recording
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Listing (object_store) and pixel reads (GDAL) alike say who pays.
    let payer = |r: &serde_json::Value| {
        r["headers"]
            .as_object()
            .unwrap()
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("x-amz-request-payer") && v == "requester")
    };
    let listing = requests
        .iter()
        .filter(|r| r["url"].as_str().unwrap().contains("list-type"))
        .count();
    let tiffs = requests
        .iter()
        .filter(|r| r["url"].as_str().unwrap().contains(".tif"))
        .count();
    assert!(listing > 0 && tiffs > 0, "{recording}");
    assert!(requests.iter().all(payer), "{recording}");

    let err = ctx
        .sql("SELECT * FROM raster_observations('s3://paid-ard/payer/h003v008', 'aws.request_payer', 'maybe')")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'aws.request_payer'") && err.contains("'maybe'"),
        "{err}"
    );
}

/// A TCP relay to `upstream` that holds every connection until released, and says when the first
/// one arrives: an object store that is as slow as the test wants.
struct Gate {
    port: u16,
    arrived: std::sync::mpsc::Receiver<()>,
    open: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl Gate {
    fn start(upstream: u16) -> Gate {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tell, arrived) = std::sync::mpsc::channel();
        let open = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let gate = std::sync::Arc::clone(&open);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let _ = tell.send(());
                let (lock, opened) = &*gate;
                let mut is_open = lock.lock().unwrap();
                while !*is_open {
                    is_open = opened.wait(is_open).unwrap();
                }
                drop(is_open);
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Gate {
            port,
            arrived,
            open,
        }
    }

    fn release(&self) {
        let (lock, opened) = &*self.open;
        *lock.lock().unwrap() = true;
        opened.notify_all();
    }
}

/// While one session catalogues a stack on a slow object store (its listing held by a gate), a
/// query of another session on the same one-worker runtime completes: cataloguing does not take
/// the runtime's worker.
#[test]
fn cataloguing_a_slow_store_leaves_the_runtime_responsive() {
    let moto = Moto::start();
    // A bucket of its own: GDAL's settings are per bucket name in the process.
    moto.upload(stack(), "slow-ard", "slow/h003v008");
    let gate = Gate::start(moto.endpoint.rsplit(':').next().unwrap().parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let slow = session(1);
    let sql = format!(
        "SELECT count(*) FROM raster_pixels('s3://slow-ard/slow/h003v008', 'aws.endpoint', 'http://127.0.0.1:{}', 'aws.access_key_id', 'testing', 'aws.secret_access_key', 'testing', 'aws.region', 'us-east-1')",
        gate.port
    );
    let catalogue = runtime.spawn(async move { scalar(&slow, &sql).await });
    gate.arrived
        .recv_timeout(Duration::from_secs(60))
        .expect("the catalogue reached the store");
    // The catalogue is now waiting on the store. Another session's query must still complete.
    let (done, finished) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let other = session(1);
        let _ = done.send(scalar(&other, "SELECT 40 + 2").await);
    });
    let answer = finished.recv_timeout(Duration::from_secs(60));
    gate.release();
    assert_eq!(
        answer.as_deref(),
        Ok("42"),
        "the other query did not complete while a catalogue waited"
    );
    let pixels = runtime.block_on(catalogue).unwrap();
    assert_eq!(pixels, (SIZE * SIZE).to_string());
}
