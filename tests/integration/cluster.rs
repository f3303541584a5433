//! A one-host cluster of real processes: `ardent-scheduler` and two `ardent-executor`s on free
//! loopback ports, started by the test and stopped at its end. Raster queries must give exactly the
//! answers of local mode.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ardent_engine::cluster::{
    down, is_running, read_state, registered_executors, up, ClusterSpec, ClusterState,
};
use ardent_engine::distributed::rest::SchedulerApi;
use ardent_engine::session::{session_for, Master};
use datafusion::prelude::SessionConfig;

use crate::common::*;

/// A one-host cluster started through the library, stopped on drop.
pub struct Cluster {
    pub port: u16,
    pub state: ClusterState,
    dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start(executors: usize) -> Cluster {
        Self::start_with(executors, 2, &[], &[])
    }

    pub fn start_with(
        executors: usize,
        vcores: usize,
        scheduler_flags: &[&str],
        executor_flags: &[&str],
    ) -> Cluster {
        Self::start_with_env(executors, vcores, scheduler_flags, executor_flags, &[])
    }

    pub fn start_with_env(
        executors: usize,
        vcores: usize,
        scheduler_flags: &[&str],
        executor_flags: &[&str],
        env: &[(&str, &str)],
    ) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let flags = |f: &[&str]| f.iter().map(|s| s.to_string()).collect();
        let spec = ClusterSpec {
            bin_dir: ardent_bin().parent().unwrap().to_path_buf(),
            dir: dir.path().to_path_buf(),
            executors,
            port: 0,
            vcores,
            timeout: Duration::from_secs(60),
            scheduler_flags: flags(scheduler_flags),
            executor_flags: flags(executor_flags),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let state = up(&spec).unwrap_or_else(|e| panic!("cluster up: {e}"));
        Cluster {
            port: state.scheduler_port,
            state,
            dir,
        }
    }

    pub fn master(&self) -> Master {
        Master::Cluster {
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }
}

impl Cluster {
    /// SIGKILLs the first member `which` picks (an executor, as a crash or the OOM killer would).
    pub fn kill(&self, which: impl Fn(&ardent_engine::cluster::Member) -> bool) {
        let victim = self
            .state
            .members
            .iter()
            .find(|m| which(m))
            .expect("no such member of the cluster");
        let killed = Command::new("kill")
            .args(["-KILL", &victim.pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success(), "kill {}", victim.pid);
    }

    /// Everything the servers logged so far.
    pub fn logs(&self) -> String {
        self.state
            .members
            .iter()
            .map(|m| std::fs::read_to_string(&m.log).unwrap_or_default())
            .collect()
    }
}

/// A TCP relay on a loopback port to `upstream`, keeping a copy of every byte in both directions:
/// what a capture of the client-scheduler traffic would show.
struct Recorder {
    port: u16,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    fn start(upstream: u16) -> Recorder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&bytes);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let record = Arc::clone(&record);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = std::io::Read::read(&mut from, &mut buf) {
                            if n == 0 || std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                                break;
                            }
                            record.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Recorder { port, bytes }
    }

    fn captured(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A cluster query over an S3 stack (moto) from a client whose environment and table options
/// hold credentials: the answer equals local mode's, and neither secret appears in the traffic to
/// the scheduler, in `EXPLAIN VERBOSE`, or in the servers' debug logs. The executors read with
/// credentials of their own environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_cluster() {
    let moto = Moto::start();
    // A bucket of its own: GDAL's settings are per bucket name in the process.
    moto.upload(stack(), "cluster-ard", "stacks/h003v008");
    let cluster = Cluster::start_with_env(
        1,
        2,
        &[],
        &[],
        &[
            ("RUST_LOG", "debug"),
            ("AWS_ACCESS_KEY_ID", "executor-key"),
            ("AWS_SECRET_ACCESS_KEY", "executor-secret"),
        ],
    );
    let recorder = Recorder::start(cluster.port);
    let (env_secret, option_secret) = ("EnV-SeCrEt-31415926", "OpTiOn-SeCrEt-27182818");
    let sql = format!(
        "CREATE EXTERNAL TABLE remote STORED AS RASTER LOCATION 's3://cluster-ard/stacks/h003v008' \
         OPTIONS ('layout' 'observations', 'aws.endpoint' '{}', 'aws.region' 'us-east-1', \
                  'aws.access_key_id' 'client-key', 'aws.secret_access_key' '{option_secret}');
         SELECT count(*) AS n, sum(red) AS red FROM remote WHERE row < 12;
         EXPLAIN VERBOSE SELECT sum(red) FROM remote WHERE row < 12",
        moto.endpoint
    );
    let out = Command::new(ardent_bin())
        .args([
            "sql",
            "--master",
            &format!("df://127.0.0.1:{}", recorder.port),
            "--quiet",
            "--format",
            "csv",
            &sql,
        ])
        .env("AWS_ACCESS_KEY_ID", "client-key")
        .env("AWS_SECRET_ACCESS_KEY", env_secret)
        .env("AWS_SESSION_TOKEN", env_secret)
        .env_remove("ARDENT_MASTER")
        .output()
        .unwrap();
    let printed = stdout(&out);
    assert!(out.status.success(), "{}\n{}", stderr(&out), cluster.logs());
    let local = session(1);
    query(&local, &format!("CREATE EXTERNAL TABLE l STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations')", stack().display())).await;
    let expected = scalar(
        &local,
        "SELECT concat(count(*), ',', sum(red)) FROM l WHERE row < 12",
    )
    .await;
    assert!(printed.contains(&expected), "{expected} not in {printed}");
    assert!(
        printed.contains("RasterScanExec"),
        "EXPLAIN VERBOSE printed: {printed}"
    );

    let captured = recorder.captured();
    assert!(
        contains(&captured, "s3://cluster-ard/stacks/h003v008")
            || contains(&captured, "stacks/h003v008"),
        "the capture holds the plan"
    );
    let logs = cluster.logs();
    assert!(logs.contains("DEBUG"), "servers log at debug level");
    for secret in [env_secret, option_secret] {
        assert!(
            !contains(&captured, secret),
            "{secret} travelled to the scheduler"
        );
        assert!(!printed.contains(secret), "{secret} printed by the client");
        assert!(!logs.contains(secret), "{secret} in the servers' logs");
    }
}

/// `ardent cluster down` signals only the processes it started: a recorded pid that another
/// program now holds (pid reuse) is left running.
#[test]
fn cluster_down_leaves_a_reused_pid_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut other = Command::new("sleep").arg("600").spawn().unwrap();
    let state = ClusterState {
        master: "df://127.0.0.1:1".into(),
        scheduler_port: 1,
        members: vec![ardent_engine::cluster::Member {
            role: "scheduler".into(),
            pid: other.id(),
            // The start time the cluster's own scheduler had: not this process's.
            started: Some(1),
            port: 1,
            log: dir.path().join("scheduler.log"),
        }],
    };
    std::fs::write(
        dir.path().join(ardent_engine::cluster::STATE_FILE),
        serde_json::to_string(&state).unwrap(),
    )
    .unwrap();
    let out = ardent(&["cluster", "down", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("stopped 0 process(es)"),
        "{}",
        stdout(&out)
    );
    assert!(
        other.try_wait().unwrap().is_none(),
        "the unrelated process was signalled"
    );
    other.kill().unwrap();
    other.wait().unwrap();
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = down(self.dir.path());
    }
}

/// A land-cover model as XGBoost saves one (9 classes, 63 features), each class one split on
/// the nir slope: enough to check that the executors read and apply a model as the client does.
fn one_split_model() -> String {
    let tree = |class: usize| {
        serde_json::json!({
            "left_children": [1, -1, -1], "right_children": [2, -1, -1],
            "split_indices": [18, 0, 0], "split_conditions": [0.0, class as f64 * 0.1, -0.2],
            "default_left": [1, 0, 0], "split_type": [0, 0, 0]
        })
    };
    land_cover_model((0..9).map(tree).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_answers_equal_local_answers() {
    let cluster = Cluster::start(2);
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.json");
    std::fs::write(&model, one_split_model()).unwrap();
    let remote = session_for(&cluster.master(), SessionConfig::new())
        .await
        .unwrap();
    let local = session(2);
    let location = stack().display();
    // One chip a partition: 9 partitions, so stages have many tasks and each must read only its own.
    for ctx in [&remote, &local] {
        for (name, layout) in [("pix", "pixels"), ("obs", "observations")] {
            query(ctx, &format!(
                "CREATE EXTERNAL TABLE {name} STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' '{layout}', 'chip_size' '10', 'chips_per_partition' '1')"
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
        "SELECT row, col, cardinality(c['change_models']) AS segments, round(c['cloud_prob'], 9) AS cloud,
                round(c['change_models'][1]['nir']['rmse'], 6) AS nir_rmse
         FROM (SELECT row, col, ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) AS c
               FROM pix WHERE row < 3 AND col < 12) ORDER BY row, col".to_string(),
        // Segments travel between tasks and back into the functions that take them.
        format!(
            "SELECT row, col, sctime(c, 2015) AS sctime, landcover(c, 2015, '{}')['lcpri'] AS lcpri,
                    cardinality(ccdc_update(c, dates, blue, green, red, nir, swir1, swir2, thermal, qa)['change_models']) AS updated
             FROM (SELECT row, col, dates, blue, green, red, nir, swir1, swir2, thermal, qa,
                          ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa) AS c
                   FROM pix WHERE row < 2 AND col < 12) ORDER BY row, col",
            model.display()
        ),
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

    // The queries really ran on the cluster: the scheduler lists their jobs, all successful, and
    // counts them in its Prometheus metrics.
    let api = SchedulerApi::new("127.0.0.1", cluster.port);
    let jobs = api.jobs().unwrap();
    assert!(
        jobs.iter().filter(|j| j.status == "Completed").count() >= queries.len(),
        "{jobs:?}"
    );
    let metrics = api.metrics().unwrap();
    assert!(
        metrics.contains("# TYPE job_completed_total counter"),
        "{metrics}"
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

    // On a terminal, the CLI shows the job's tasks and stages; --quiet does not.
    let longer = script.replace(
        "'observations'",
        "'observations', 'chip_size' '5', 'chips_per_partition' '1'",
    );
    let on_terminal = |quiet: &str| {
        let command = format!(
            "{} sql {quiet} --master {url} --format csv \"{longer}\"",
            ardent_bin().display()
        );
        let o = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("ARDENT_MASTER")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stdout(&o));
        stdout(&o)
    };
    let shown = on_terminal("");
    assert!(
        shown.contains(" tasks ") && shown.contains(" stages"),
        "{shown}"
    );
    assert!(shown.contains("2014,"), "{shown}");
    let quiet = on_terminal("--quiet");
    assert!(
        !quiet.contains(" tasks") && quiet.contains("2014,"),
        "{quiet}"
    );
}

#[test]
fn cluster_command_starts_and_stops_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let up = [
        "cluster",
        "up",
        "--executors",
        "1",
        "--port",
        "0",
        "--dir",
        d,
    ];
    let o = ardent(&up);
    assert!(o.status.success(), "{}", stderr(&o));
    let master = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("master: "))
        .unwrap()
        .to_string();
    let pids: Vec<u32> = read_state(dir.path())
        .unwrap()
        .members
        .iter()
        .map(|m| m.pid)
        .collect();
    assert_eq!(pids.len(), 2);

    let again = ardent(&up);
    assert_clean_failure(&again, &["already running", "cluster down"]);

    let status = ardent(&["cluster", "status", "--dir", d]);
    assert!(
        stdout(&status).contains("1 executor(s) registered"),
        "{}",
        stdout(&status)
    );
    let sql = format!(
        "SELECT count(*) AS n FROM raster_pixels('{}')",
        stack().display()
    );
    let counted = ardent(&["sql", "--master", &master, "--format", "csv", &sql]);
    assert_eq!(
        stdout(&counted),
        format!("n\n{}\n", SIZE * SIZE),
        "{}",
        stderr(&counted)
    );

    let o = ardent(&["cluster", "down", "--dir", d]);
    assert!(stdout(&o).contains("stopped 2"), "{}", stdout(&o));
    for pid in pids {
        assert!(!is_running(pid), "process {pid} still runs");
    }
    let o = ardent(&["cluster", "down", "--dir", d]);
    assert_clean_failure(&o, &["no cluster recorded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_the_executors_cannot_read_fails_the_job_cleanly() {
    // GDAL's reason comes from strerror: the C locale makes its wording the one asserted.
    let cluster = Cluster::start_with_env(1, 2, &[], &[], &[("LC_ALL", "C")]);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("stack");
    copy_stack(&copy);
    let ctx = session_for(&cluster.master(), SessionConfig::new())
        .await
        .unwrap();
    query(&ctx, &format!("CREATE EXTERNAL TABLE t STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations')", copy.display())).await;
    // The client catalogued the stack; the executors then find it gone.
    let victim = tifs(&copy)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("SRB4.tif"))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    let run = async { ctx.sql("SELECT sum(red) FROM t").await?.collect().await };
    let err = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the job fails instead of hanging")
        .unwrap_err()
        .to_string();
    assert!(err.contains(victim.to_str().unwrap()), "{err}");
    assert!(
        err.contains("process ardent-executor"),
        "the executor is named: {err}"
    );
    assert!(err.contains("No such file"), "GDAL's reason is kept: {err}");
}

/// SIGKILL of one of two executors in the middle of a multi-stage raster job: the scheduler misses
/// its heartbeats, reruns its tasks and the map outputs it held on the survivor, and the answer is
/// still local mode's.
#[test]
fn a_job_survives_an_executor_killed_mid_way() {
    let cluster = Cluster::start_with(
        2,
        1,
        &[
            "--executor-timeout-seconds",
            "6",
            "--expire-dead-executor-interval-seconds",
            "1",
        ],
        &["--executor-heartbeat-interval-seconds", "1"],
    );
    let script = |options: &str| {
        format!(
            "CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations'{options});
             SELECT CAST(date_part('year', date) AS INT) AS year, round(median(ndvi(red, nir)), 9) AS ndvi, count(*) AS n
             FROM obs WHERE qa_clear(qa, 'c1') GROUP BY year ORDER BY year",
            stack().display()
        )
    };
    // 3 px chips, one a partition: 100 scan tasks, then a hash exchange and a final sort.
    let many_tasks = script(", 'chip_size' '3', 'chips_per_partition' '1'");
    let url = format!("df://127.0.0.1:{}", cluster.port);
    let mut client = Command::new(ardent_bin())
        .args([
            "sql",
            "--quiet",
            "--master",
            &url,
            "--format",
            "csv",
            &many_tasks,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let api = SchedulerApi::new("127.0.0.1", cluster.port);
    let running = || {
        api.jobs()
            .unwrap_or_default()
            .into_iter()
            .find(|j| j.status == "Running")
    };
    let jobs = || format!("{:?}", api.jobs());
    // Kill once scan tasks have finished (the map output they left must then be recomputed if
    // it was on the victim) while the scan stage still runs: its 100 partitions on two one-slot
    // executors take seconds. (Ballista lists stages and tasks as it plans and starts them.)
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let progress = running().and_then(|job| api.progress(&job).ok());
        if progress.is_some_and(|p| p.tasks_done >= 2 && p.stages_done == 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the job never finished a task of its first stages: {}",
            jobs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.kill(|m| m.role == "executor0");
    assert!(
        running().is_some(),
        "the job ended before the executor was killed: {}",
        jobs()
    );

    let deadline = Instant::now() + Duration::from_secs(240);
    while client.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = client.kill();
            panic!("the job hangs after losing an executor: {}", jobs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let on_host = ardent(&["sql", "--master", "local", "--format", "csv", &script("")]);
    assert_eq!(stdout(&out), stdout(&on_host));
    assert_eq!(
        registered_executors(cluster.port).ok(),
        Some(1),
        "the scheduler dropped the dead executor"
    );
}

/// Kills a server process when the test ends, passed or not.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scheduler and an executor configured by ARDENT_* variables alone find each other.
#[test]
fn servers_take_their_flags_from_ardent_variables() {
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port()
            .to_string()
    };
    let work = tempfile::tempdir().unwrap();
    let bin = ardent_bin().parent().unwrap().to_path_buf();
    // Each server's log goes to a file, so that a failure can show what the servers said.
    let log = |program: &str| work.path().join(format!("{program}.log"));
    let start = |program: &str, vars: &[(&str, String)]| {
        let file = std::fs::File::create(log(program)).unwrap();
        Server(
            Command::new(bin.join(program))
                .envs(vars.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .unwrap(),
        )
    };
    let logs = || {
        ["ardent-scheduler", "ardent-executor"]
            .map(|p| {
                format!(
                    "{p}:\n{}",
                    std::fs::read_to_string(log(p)).unwrap_or_default()
                )
            })
            .join("\n")
    };
    // Ports picked free can be taken by a parallel test before a server binds them; a server
    // that then exits is started again on fresh ports, up to three times.
    let mut attempt = 0;
    let (port, _servers) = loop {
        attempt += 1;
        let port = free_port();
        let mut scheduler = start(
            "ardent-scheduler",
            &[
                ("ARDENT_SCHEDULER_BIND_HOST", "127.0.0.1".into()),
                ("ARDENT_SCHEDULER_BIND_PORT", port.clone()),
            ],
        );
        let mut executor = start(
            "ardent-executor",
            &[
                ("ARDENT_EXECUTOR_SCHEDULER_HOST", "127.0.0.1".into()),
                ("ARDENT_EXECUTOR_SCHEDULER_PORT", port.clone()),
                ("ARDENT_EXECUTOR_BIND_HOST", "127.0.0.1".into()),
                ("ARDENT_EXECUTOR_BIND_PORT", free_port()),
                ("ARDENT_EXECUTOR_BIND_GRPC_PORT", free_port()),
                ("ARDENT_EXECUTOR_BIND_HEALTH_PORT", free_port()),
                (
                    "ARDENT_EXECUTOR_WORK_DIR",
                    work.path().display().to_string(),
                ),
                ("ARDENT_EXECUTOR_VCORES", "3".into()),
            ],
        );
        let port: u16 = port.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut exited = false;
        while registered_executors(port).ok() != Some(1) && !exited {
            assert!(
                Instant::now() < deadline,
                "the executor never registered; the servers' logs:\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(200));
            exited = [&mut scheduler, &mut executor]
                .iter_mut()
                .any(|s| s.0.try_wait().unwrap().is_some());
        }
        if !exited {
            break (port, (scheduler, executor));
        }
        assert!(
            attempt < 3,
            "a server exited three times on fresh ports; the last logs:\n{}",
            logs()
        );
    };
    let executors = SchedulerApi::new("127.0.0.1", port).executors().unwrap();
    assert_eq!(executors.len(), 1, "{executors:?}");
    assert_eq!(executors[0].specification.vcores, 3, "{executors:?}");
}
