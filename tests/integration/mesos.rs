//! Mesos placement against the fake master of `ardent_tests::mesos_master` (no Mesos master
//! can run here). The framework's protocol is tested in this process, with agents that hold
//! tasks as running; the end-to-end tests run `ardent-scheduler` and `ardent sql` as processes
//! whose executors the fake agents run for real, as processes of `ardent-executor` with the
//! arguments the executor image's entrypoint would get.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ardent_engine::distributed::rest::SchedulerApi;
use ardent_scheduler::mesos::{Cluster, FrameworkHandle, MesosError, Settings};
use ardent_scheduler::server::SchedulerOptions;
use ardent_tests::mesos_master::{
    Agent, Config, FakeMesos, Runner, ServerTls, TestCertificates, View,
};
use clap::Parser;

use crate::common::{ardent, ardent_bin, free_port, stack, stderr, stdout};

const WAIT: Duration = Duration::from_secs(30);

/// The scheduler as the framework sees it, here: busy or not, and the executors it was told
/// ended.
#[derive(Default)]
struct Scheduler {
    busy: AtomicBool,
    ended: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Cluster for Scheduler {
    fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    async fn executor_ended(&self, id: &str, _reason: &str) {
        self.ended.lock().unwrap().push(id.to_string());
    }
}

/// The framework's settings for the fake master, from `ardent-scheduler` flags.
fn settings(mesos: &FakeMesos, flags: &[&str]) -> Settings {
    let url = mesos.url();
    let argv = [
        "ardent-scheduler",
        "--mesos-master",
        &url,
        "--bind-port",
        "50050",
    ];
    let options = SchedulerOptions::try_parse_from(argv.iter().chain(flags)).unwrap();
    options
        .mesos
        .settings("127.0.0.1", 50050)
        .unwrap()
        .expect("--mesos-master given")
}

fn start(mesos: &FakeMesos, flags: &[&str]) -> (FrameworkHandle, Arc<Scheduler>) {
    let scheduler = Arc::new(Scheduler::default());
    let framework = FrameworkHandle::start(settings(mesos, flags), scheduler.clone()).unwrap();
    (framework, scheduler)
}

/// A fake master with agents of these ids and cores, holding tasks as running.
async fn fake(specs: &[(&str, f64)]) -> FakeMesos {
    FakeMesos::start(Config {
        agents: agents(specs),
        ..Config::default()
    })
    .await
}

fn agents(specs: &[(&str, f64)]) -> Vec<Agent> {
    specs
        .iter()
        .map(|(id, cpus)| Agent::local(id, *cpus, 9))
        .collect()
}

fn flag<'a>(arguments: &'a [String], name: &str) -> &'a str {
    let at = arguments
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("{name} in {arguments:?}"));
    &arguments[at + 1]
}

/// Tears the framework down and checks the master saw it go, holding nothing.
async fn tear_down(mesos: &FakeMesos, framework: FrameworkHandle) {
    framework.shutdown().await.unwrap();
    let view = mesos.view();
    assert_eq!(view.calls_of("TEARDOWN").len(), 1, "{:?}", view.calls);
    assert!(view.running().is_empty(), "{:?}", view.tasks);
    assert!(view.connected.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_are_launched_up_to_cores_max_and_the_rest_declined() {
    let mesos = fake(&[("a1", 4.0), ("a2", 4.0), ("a3", 4.0)]).await;
    // Two acknowledgements go astray: the master sends those updates again.
    mesos.ignore_acks(2);
    let (framework, _) = start(
        &mesos,
        &[
            "--cores-max",
            "6",
            "--executor-cores",
            "2",
            "--executor-memory",
            "2g",
        ],
    );
    let view = mesos
        .wait_for(
            "three executors running, every update acknowledged",
            WAIT,
            |v| {
                v.running().len() == 3
                    && v.tasks.iter().all(|t| t.state == "TASK_RUNNING")
                    && v.unacked == 0
            },
        )
        .await;
    assert!(
        view.resent >= 1,
        "lost acknowledgements were answered by resending"
    );
    assert_eq!(view.running().iter().map(|t| t.cpus).sum::<f64>(), 6.0);
    let subscribe = &view.calls_of("SUBSCRIBE")[0].body["subscribe"]["framework_info"];
    assert_eq!(subscribe["name"], "ardent");
    assert_eq!(subscribe["roles"][0], "*");
    let mut ports = Vec::new();
    for task in view.running() {
        let arguments = &task.arguments;
        assert_eq!(
            task.image,
            concat!("ardent-executor:", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            flag(arguments, "--id"),
            task.id,
            "the executor's id is its task's"
        );
        assert_eq!(flag(arguments, "--vcores"), "2");
        assert_eq!(
            flag(arguments, "--memory-pool-size"),
            (2u64 << 30).to_string()
        );
        assert_eq!(flag(arguments, "--scheduler-host"), "127.0.0.1");
        assert_eq!(flag(arguments, "--scheduler-port"), "50050");
        assert_eq!(flag(arguments, "--external-host"), "127.0.0.1");
        for port in ["--bind-port", "--bind-grpc-port", "--bind-health-port"] {
            ports.push(flag(arguments, port).to_string());
        }
    }
    let distinct: std::collections::HashSet<_> = ports.iter().collect();
    assert_eq!(
        distinct.len(),
        9,
        "every executor has ports of its own: {ports:?}"
    );
    let accept =
        &view.calls_of("ACCEPT")[0].body["accept"]["operations"][0]["launch"]["task_infos"][0];
    assert_eq!(accept["container"]["docker"]["network"], "HOST");
    assert_eq!(
        accept["container"]["volumes"][0]["container_path"],
        "/certs"
    );
    assert_eq!(accept["container"]["volumes"][0]["mode"], "RO");
    assert!(
        view.calls_of("DECLINE")
            .iter()
            .any(|c| { c.body["decline"]["filters"]["refuse_seconds"] == 120.0 }),
        "the offer beyond --cores-max is declined for 120 s: {:?}",
        view.calls_of("DECLINE")
    );
    assert!(
        !view.calls_of("SUPPRESS").is_empty(),
        "offers are suppressed once satisfied"
    );
    assert!(
        view.calls
            .iter()
            .all(|c| c.status == 202 || c.kind == "SUBSCRIBE"),
        "{:?}",
        view.calls
    );
    tear_down(&mesos, framework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_go_only_to_agents_meeting_the_constraints() {
    let mut agents = agents(&[("a1", 2.0), ("a2", 2.0)]);
    agents[0].attributes = vec![("rack".into(), "r1".into())];
    agents[1].attributes = vec![("rack".into(), "r2".into())];
    let mesos = FakeMesos::start(Config {
        agents,
        ..Config::default()
    })
    .await;
    let (framework, _) = start(
        &mesos,
        &["--executor-cores", "1", "--mesos-constraints", "rack:r2,r3"],
    );
    let view = mesos
        .wait_for("two executors on a2, a1's offer refused", WAIT, |v| {
            v.running().len() == 2
                && v.calls_of("DECLINE")
                    .iter()
                    .any(|c| c.body["decline"]["filters"]["refuse_seconds"] == 120.0)
        })
        .await;
    assert!(
        view.running().iter().all(|t| t.agent == "a2"),
        "{:?}",
        view.tasks
    );
    tear_down(&mesos, framework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_executors_are_relaunched_away_from_a_failing_agent() {
    let mesos = fake(&[("a1", 2.0), ("a2", 2.0)]).await;
    let (framework, scheduler) = start(
        &mesos,
        &[
            "--cores-max",
            "2",
            "--executor-cores",
            "1",
            "--mesos-max-agent-failures",
            "2",
        ],
    );
    mesos
        .wait_for("two executors", WAIT, |v| v.running().len() == 2)
        .await;
    // Executors on a1 fail, and are replaced, until none runs there: after its second
    // failure a1 gets no more.
    let mut failed = Vec::new();
    for _ in 0..4 {
        let view = mesos
            .wait_for("two executors", WAIT, |v| v.running().len() == 2)
            .await;
        let Some(victim) = view
            .running()
            .into_iter()
            .find(|t| t.agent == "a1")
            .cloned()
        else {
            break;
        };
        mesos.fail_task(&victim.id);
        failed.push(victim.id.clone());
        mesos
            .wait_for("the failure seen", WAIT, |v| {
                v.tasks
                    .iter()
                    .any(|t| t.id == victim.id && t.state == "TASK_FAILED")
            })
            .await;
    }
    let view = mesos
        .wait_for("two executors again, none on a1", WAIT, |v| {
            v.running().len() == 2 && v.running().iter().all(|t| t.agent == "a2")
        })
        .await;
    assert!(
        !view.calls_of("REVIVE").is_empty(),
        "offers revived to replace them"
    );
    // Two at first, and at most one launched between a1's first failure and its second.
    let on_a1 = view.tasks.iter().filter(|t| t.agent == "a1").count();
    assert!(
        on_a1 <= 3,
        "a1 got executors after failing twice: {:?}",
        view.tasks
    );
    let ended = scheduler.ended.lock().unwrap().clone();
    for id in &failed {
        assert!(
            ended.contains(id),
            "the scheduler was told {id} ended: {ended:?}"
        );
    }
    tear_down(&mesos, framework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescinded_offer_does_not_count_against_its_agent() {
    let mesos = fake(&[("a1", 2.0)]).await;
    mesos.rescind_next_offer();
    let (framework, _) = start(
        &mesos,
        &["--cores-max", "1", "--mesos-max-agent-failures", "1"],
    );
    let view = mesos
        .wait_for("an executor on a1 from a later offer", WAIT, |v| {
            v.running().len() == 1 && !v.rescinded.is_empty()
        })
        .await;
    let rescinded = &view.rescinded[0];
    let launched_from: Vec<&str> = view
        .calls_of("ACCEPT")
        .iter()
        .filter_map(|c| c.body["accept"]["offer_ids"][0]["value"].as_str())
        .collect();
    // The framework took the offer before it heard it was rescinded; the tasks were lost for
    // an invalid offer, which is not the agent's failure: a later offer of it was taken.
    assert_eq!(launched_from.first(), Some(&rescinded.as_str()));
    assert!(launched_from.len() >= 2, "{launched_from:?}");
    tear_down(&mesos, framework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_framework_follows_the_leader_and_resubscribes_after_failover() {
    let mesos = FakeMesos::start(Config {
        masters: 2,
        leader: 1,
        agents: agents(&[("a1", 2.0)]),
        ..Config::default()
    })
    .await;
    // No leader at first: the masters answer 503 and the framework keeps asking.
    mesos.electing(true);
    let (framework, _) = start(&mesos, &["--cores-max", "1"]);
    mesos
        .wait_for("a 503 from each master", WAIT, |v| {
            v.calls_of("SUBSCRIBE")
                .iter()
                .filter(|c| c.status == 503)
                .count()
                >= 2
        })
        .await;
    mesos.electing(false);
    let view = mesos
        .wait_for("an executor", WAIT, |v| v.running().len() == 1)
        .await;
    let subscribes: Vec<u16> = view
        .calls_of("SUBSCRIBE")
        .iter()
        .map(|c| c.status)
        .filter(|&s| s != 503)
        .collect();
    assert_eq!(
        subscribes,
        [307, 200],
        "the first master redirects to the leader"
    );
    let id = view.connected[0].clone();

    mesos.fail_over(0);
    let view = mesos
        .wait_for("a subscription at the new leader", WAIT, |v| {
            v.connected.len() == 1
                && v.calls_of("SUBSCRIBE")
                    .iter()
                    .filter(|c| c.status == 200)
                    .count()
                    == 2
        })
        .await;
    let again = view
        .calls_of("SUBSCRIBE")
        .into_iter()
        .rfind(|c| c.status == 200)
        .unwrap();
    assert_eq!(again.body["framework_id"]["value"], id.as_str());
    assert_eq!(
        again.body["subscribe"]["framework_info"]["id"]["value"],
        id.as_str()
    );
    assert_eq!(view.connected, [id]);
    assert_eq!(
        view.tasks.len(),
        1,
        "the executor kept running: {:?}",
        view.tasks
    );
    assert_eq!(view.running().len(), 1);
    tear_down(&mesos, framework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_heartbeats_make_the_framework_subscribe_again() {
    let mesos = FakeMesos::start(Config {
        agents: agents(&[("a1", 1.0)]),
        heartbeat: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    let (framework, _) = start(&mesos, &[]);
    let view = mesos
        .wait_for("an executor", WAIT, |v| v.running().len() == 1)
        .await;
    let id = view.connected[0].clone();
    mesos.heartbeats(false);
    let view = mesos
        .wait_for("a second subscription", WAIT, |v| {
            v.calls_of("SUBSCRIBE").len() == 2
        })
        .await;
    mesos.heartbeats(true);
    assert_eq!(
        view.calls_of("SUBSCRIBE")[1].body["framework_id"]["value"],
        id.as_str()
    );
    let view = mesos
        .wait_for("subscribed again", WAIT, |v| v.connected.len() == 1)
        .await;
    assert_eq!(view.connected, [id]);
    tear_down(&mesos, framework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates() {
    let certs = TestCertificates::make();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.display().to_string()
    };
    let (cert, key, ca) = (
        write("mesos.crt", &certs.client_cert),
        write("mesos.key", &certs.client_key),
        write("trustedroot.crt", &certs.ca),
    );
    let mesos = FakeMesos::start(Config {
        agents: agents(&[("a1", 1.0)]),
        tls: Some(ServerTls {
            cert: certs.server_cert.clone(),
            key: certs.server_key.clone(),
            client_ca: Some(certs.ca.clone()),
        }),
        ..Config::default()
    })
    .await;
    let (framework, _) = start(
        &mesos,
        &[
            "--mesos-cert",
            &cert,
            "--mesos-key",
            &key,
            "--mesos-ca",
            &ca,
        ],
    );
    mesos
        .wait_for("an executor", WAIT, |v| v.running().len() == 1)
        .await;
    tear_down(&mesos, framework).await;

    // Without a client certificate, or trusting another CA, the framework stops with an error
    // saying so, at once.
    let other = TestCertificates::make();
    let other_ca = write("other.crt", &other.ca);
    for (flags, expected) in [
        (vec!["--mesos-ca", ca.as_str()], "TLS"),
        (
            vec![
                "--mesos-cert",
                &cert,
                "--mesos-key",
                &key,
                "--mesos-ca",
                &other_ca,
            ],
            "certificate",
        ),
    ] {
        let (framework, _) = start(&mesos, &flags);
        let error = tokio::time::timeout(WAIT, framework.wait())
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(error, MesosError::TlsHandshake { .. }),
            "{flags:?}: {error}"
        );
        assert!(error.to_string().contains(expected), "{flags:?}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_one_clear_error() {
    let mesos = FakeMesos::start(Config {
        agents: agents(&[("a1", 1.0)]),
        credentials: Some(("lcmap".into(), "right-secret".into())),
        ..Config::default()
    })
    .await;
    let (framework, _) = start(
        &mesos,
        &[
            "--mesos-principal",
            "lcmap",
            "--mesos-secret",
            "wrong-secret",
        ],
    );
    let error = tokio::time::timeout(WAIT, framework.wait())
        .await
        .unwrap()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, MesosError::Unauthorized { .. }),
        "{message}"
    );
    assert!(
        message.contains("'lcmap'") && message.contains("401"),
        "{message}"
    );
    assert!(
        !message.contains("secret-"),
        "no secret in errors: {message}"
    );

    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), "right-secret\n").unwrap();
    let (framework, _) = start(
        &mesos,
        &[
            "--mesos-principal",
            "lcmap",
            "--mesos-secret-file",
            secret_file.path().to_str().unwrap(),
        ],
    );
    let view = mesos
        .wait_for("an executor", WAIT, |v| v.running().len() == 1)
        .await;
    assert_eq!(
        view.calls_of("SUBSCRIBE").last().unwrap().body["subscribe"]["framework_info"]["principal"],
        "lcmap"
    );
    tear_down(&mesos, framework).await;
}

/// Masters that never answer: after --mesos-subscribe-timeout, one error naming them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_masters_are_one_clear_error() {
    let closed = free_port();
    let scheduler = Arc::new(Scheduler::default());
    let options = SchedulerOptions::try_parse_from([
        "ardent-scheduler",
        "--mesos-master",
        &format!("mesos://127.0.0.1:{closed}"),
        "--mesos-subscribe-timeout",
        "1",
    ])
    .unwrap();
    let settings = options.mesos.settings("127.0.0.1", 50050).unwrap().unwrap();
    let framework = FrameworkHandle::start(settings, scheduler).unwrap();
    let error = tokio::time::timeout(WAIT, framework.wait())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, MesosError::Unreachable { .. }), "{error}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{closed}")),
        "{error}"
    );
}

/// Executors are given back when no job has come for --mesos-idle-seconds, and taken again
/// when one comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_executors_are_released_and_taken_again_for_a_job() {
    let mesos = fake(&[("a1", 1.0)]).await;
    let (framework, scheduler) = start(&mesos, &["--mesos-idle-seconds", "1"]);
    mesos
        .wait_for("an executor", WAIT, |v| v.running().len() == 1)
        .await;
    let view = mesos
        .wait_for("the idle executor killed, offers suppressed", WAIT, |v| {
            v.running().is_empty()
                && !v.calls_of("KILL").is_empty()
                && !v.calls_of("SUPPRESS").is_empty()
        })
        .await;
    assert!(view.calls_of("TEARDOWN").is_empty());
    scheduler.busy.store(true, Ordering::SeqCst);
    let view = mesos
        .wait_for("an executor for the job", WAIT, |v| v.running().len() == 1)
        .await;
    assert!(!view.calls_of("REVIVE").is_empty());
    tear_down(&mesos, framework).await;
}

/// An `ardent-scheduler` placing its executors through the fake master, whose agents run them
/// as processes, stopped on drop.
struct MesosScheduler {
    process: std::process::Child,
    port: u16,
}

impl Drop for MesosScheduler {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn process_agents(logs: &std::path::Path) -> Runner {
    Runner::Process {
        executor: ardent_bin().with_file_name("ardent-executor"),
        logs: logs.to_path_buf(),
    }
}

/// Yearly NDVI medians over a stack read in chips of 3 px, one a partition: a hundred scan
/// tasks, then a shuffle.
fn ndvi_script() -> String {
    format!(
        "CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{}'
           OPTIONS ('layout' 'observations', 'chip_size' '3', 'chips_per_partition' '1');
         SELECT CAST(date_part('year', date) AS INT) AS year, round(median(ndvi(red, nir)), 9) AS ndvi, count(*) AS n
         FROM obs WHERE qa_clear(qa, 'c1') GROUP BY year ORDER BY year",
        stack().display()
    )
}

/// The end to end test: a query runs on executors placed through Mesos, survives the loss of
/// an agent mid-way (its executor replaced on another agent), and SIGTERM tears the framework
/// down with nothing left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_runs_on_executors_placed_through_mesos_and_survives_an_agent_lost() {
    let logs = tempfile::tempdir().unwrap();
    let mesos = FakeMesos::start(Config {
        agents: agents(&[("a1", 1.0), ("a2", 1.0), ("a3", 1.0)]),
        runner: process_agents(logs.path()),
        ..Config::default()
    })
    .await;
    let port = free_port();
    let ui_port = free_port();
    let scheduler = MesosScheduler {
        process: Command::new(ardent_bin().with_file_name("ardent-scheduler"))
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args([
                "--bind-port",
                &port.to_string(),
                "--ui-port",
                &ui_port.to_string(),
            ])
            .args([
                "--mesos-master",
                &mesos.url(),
                "--cores-max",
                "2",
                "--executor-cores",
                "1",
            ])
            .args(["--executor-memory", "512m"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.path().join("scheduler.log")).unwrap())
            .spawn()
            .unwrap(),
        port,
    };
    let view = mesos
        .wait_for("two executors", Duration::from_secs(60), |v| {
            v.running().len() == 2
        })
        .await;
    let logs_dir = logs.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let api = SchedulerApi::new("127.0.0.1", port);
        let deadline = Instant::now() + Duration::from_secs(60);
        while api.executors().map(|e| e.len()).unwrap_or(0) != 2 {
            assert!(
                Instant::now() < deadline,
                "the executors never registered; {}",
                logs_of(&logs_dir)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    assert!(view.running().iter().all(|t| t.agent != "a3"));
    let info = &view.calls_of("SUBSCRIBE")[0].body["subscribe"]["framework_info"];
    assert_eq!(
        info["webui_url"],
        format!("http://127.0.0.1:{ui_port}/"),
        "Mesos' UI links to the scheduler's"
    );

    let url = format!("df://127.0.0.1:{}", scheduler.port);
    let client = Command::new(ardent_bin())
        .args([
            "sql",
            "--quiet",
            "--master",
            &url,
            "--format",
            "csv",
            &ndvi_script(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Lose an agent once the job has finished tasks, while its first stage still runs.
    let progressed = tokio::task::spawn_blocking(move || {
        let api = SchedulerApi::new("127.0.0.1", port);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let running = api
                .jobs()
                .unwrap_or_default()
                .into_iter()
                .find(|j| j.status == "Running");
            let progress = running.and_then(|job| api.progress(&job).ok());
            if progress.is_some_and(|p| p.tasks_done >= 2 && p.stages_done == 0) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    assert!(
        progressed.await.unwrap(),
        "the job never got under way; {}",
        logs_of(logs.path())
    );
    mesos.lose_agent("a1");
    let view = mesos
        .wait_for(
            "a replacement executor on a3",
            Duration::from_secs(60),
            |v| v.running().len() == 2 && v.running().iter().any(|t| t.agent == "a3"),
        )
        .await;
    assert!(view.running().iter().all(|t| t.agent != "a1"));
    let out = tokio::task::spawn_blocking(move || client.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}; {}",
        stderr(&out),
        logs_of(logs.path())
    );
    let local = ardent(&[
        "sql",
        "--master",
        "local",
        "--format",
        "csv",
        &ndvi_script(),
    ]);
    assert_eq!(
        stdout(&out),
        stdout(&local),
        "the cluster's answer is local mode's"
    );

    // SIGTERM: the scheduler kills its executors and tears the framework down, then exits.
    let mut scheduler = scheduler;
    let killed = Command::new("kill")
        .args(["-TERM", &scheduler.process.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = scheduler.process.wait().unwrap();
        drop(scheduler);
        status
    })
    .await
    .unwrap();
    assert!(status.success(), "{status}; {}", logs_of(logs.path()));
    let view = mesos.view();
    assert_eq!(
        view.calls_of("TEARDOWN").len(),
        1,
        "{}",
        logs_of(logs.path())
    );
    assert!(view.running().is_empty(), "{:?}", view.tasks);
}

/// `ARDENT_MASTER=mesos://...`: the client runs a scheduler in its own process, as Spark's
/// client mode did, and gives everything back when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_runs_its_own_framework_for_a_mesos_master() {
    let logs = tempfile::tempdir().unwrap();
    let mesos = FakeMesos::start(Config {
        agents: agents(&[("a1", 2.0)]),
        runner: process_agents(logs.path()),
        ..Config::default()
    })
    .await;
    let master = mesos.url().replacen("http://", "mesos://", 1);
    let sql = format!(
        "SELECT count(*) AS pixels FROM raster_pixels('{}')",
        stack().display()
    );
    let out = tokio::task::spawn_blocking({
        let sql = sql.clone();
        move || {
            Command::new(ardent_bin())
                .args([
                    "sql", "--quiet", "--master", &master, "--format", "csv", &sql,
                ])
                .env("ARDENT_SCHEDULER_CORES_MAX", "1")
                .env("ARDENT_SCHEDULER_EXECUTOR_MEMORY", "512m")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}; {}",
        stderr(&out),
        logs_of(logs.path())
    );
    assert_eq!(
        stdout(&out),
        format!("pixels\n{}\n", crate::common::SIZE * crate::common::SIZE)
    );
    let view: View = mesos.view();
    assert_eq!(view.calls_of("TEARDOWN").len(), 1, "{:?}", view.calls);
    assert!(view.running().is_empty(), "{:?}", view.tasks);
}

fn logs_of(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let tail: String = log
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        text.push_str(&format!("\n--- {}\n{tail}", entry.path().display()));
    }
    text
}
