//! A one-host cluster of real processes: `ardent-scheduler` and two `ardent-executor`s on free
//! loopback ports, started by the test and stopped at its end. Raster queries must give exactly the
//! answers of local mode.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ardent_engine::session::{session_for, Master};
use datafusion::prelude::SessionConfig;

use crate::common::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary(name: &str) -> PathBuf {
    let bin = ardent_bin().with_file_name(name);
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --bins`",
        bin.display()
    );
    bin
}

/// GET `path` from the scheduler's REST API.
fn rest_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// A scheduler and executors on loopback, killed on drop.
pub struct Cluster {
    pub port: u16,
    children: Vec<Child>,
    _work: tempfile::TempDir,
}

impl Cluster {
    pub fn start(executors: usize) -> Cluster {
        let work = tempfile::tempdir().unwrap();
        let port = free_port();
        let scheduler = Command::new(binary("ardent-scheduler"))
            .args([
                "--bind-host",
                "127.0.0.1",
                "--bind-port",
                &port.to_string(),
                "--external-host",
                "127.0.0.1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ardent-scheduler starts");
        let mut cluster = Cluster {
            port,
            children: vec![scheduler],
            _work: work,
        };
        cluster.wait_for(
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "the scheduler to listen",
        );
        for i in 0..executors {
            let dir = cluster._work.path().join(format!("executor{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let executor = Command::new(binary("ardent-executor"))
                .args([
                    "--scheduler-host",
                    "127.0.0.1",
                    "--scheduler-port",
                    &port.to_string(),
                    "--bind-host",
                    "127.0.0.1",
                    "--external-host",
                    "127.0.0.1",
                    "--bind-port",
                    &free_port().to_string(),
                    "--bind-grpc-port",
                    &free_port().to_string(),
                    "--bind-health-port",
                    &free_port().to_string(),
                    "--work-dir",
                    dir.to_str().unwrap(),
                    "-c",
                    "2",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("ardent-executor starts");
            cluster.children.push(executor);
        }
        cluster.wait_for(
            || {
                rest_get(port, "/api/executors")
                    .is_some_and(|r| r.matches("\"id\"").count() >= executors)
            },
            "the executors to register",
        );
        cluster
    }

    fn wait_for(&mut self, ready: impl Fn() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            for child in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("a cluster process exited ({status}) while waiting for {what}");
                }
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn master(&self) -> Master {
        Master::Cluster {
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_answers_equal_local_answers() {
    let cluster = Cluster::start(2);
    let remote = session_for(&cluster.master(), SessionConfig::new())
        .await
        .unwrap();
    let local = session(2);
    let location = stack().display();
    for ctx in [&remote, &local] {
        for (name, layout) in [("pix", "pixels"), ("obs", "observations")] {
            query(ctx, &format!(
                "CREATE EXTERNAL TABLE {name} STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' '{layout}', 'chip_size' '10')"
            ))
            .await;
        }
    }
    let queries = [
        "SELECT count(*) AS n FROM pix".to_string(),
        "SELECT count(*) AS n, sum(red) AS red, sum(qa) AS qa FROM obs".to_string(),
        "SELECT qa_class(qa, 'c1') AS class, count(*) AS n, round(avg(ndvi(red, nir)), 9) AS ndvi
         FROM obs GROUP BY class ORDER BY class".to_string(),
        "SELECT row, col, round(composite('median', dates, ndvi(red, nir), qa, 'c1', DATE '2014-01-01', DATE '2015-01-01'), 9) AS m
         FROM pix WHERE row BETWEEN 4 AND 13 AND col < 12 ORDER BY row, col".to_string(),
        "SELECT p.row, count(*) AS n, sum(o.nir) AS nir FROM pix p JOIN obs o ON p.row = o.row AND p.col = o.col
         WHERE o.date >= DATE '2015-01-01' GROUP BY p.row ORDER BY p.row".to_string(),
        format!("SELECT count(*) AS n FROM raster_observations('{location}', 'bands', 'red') WHERE tile = 'h003v008' AND col = 3"),
    ];
    for sql in &queries {
        let from_cluster = remote
            .sql(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(
            pretty(&from_cluster),
            pretty(&query(&local, sql).await),
            "{sql}"
        );
    }

    // The queries really ran on the cluster: the scheduler lists their jobs, all successful.
    let jobs = rest_get(cluster.port, "/api/jobs").unwrap();
    assert!(
        jobs.matches("\"status\":\"Completed\"").count() >= queries.len(),
        "{jobs}"
    );

    // The CLI gives the same CSV on the cluster as locally.
    let script = format!(
        "CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' 'observations');
         SELECT CAST(date_part('year', date) AS INT) AS year, round(median(ndvi(red, nir)), 9) AS ndvi, count(*) AS n
         FROM obs WHERE qa_clear(qa, 'c1') AND ndvi(red, nir) IS NOT NULL GROUP BY year ORDER BY year"
    );
    let url = format!("df://127.0.0.1:{}", cluster.port);
    let on_cluster = ardent(&["sql", "--master", &url, "--format", "csv", &script]);
    assert!(on_cluster.status.success(), "{}", stderr(&on_cluster));
    let on_host = ardent(&["sql", "--master", "local", "--format", "csv", &script]);
    assert_eq!(stdout(&on_cluster), stdout(&on_host));
}
