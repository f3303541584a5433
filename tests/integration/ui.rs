//! The scheduler's web UI over HTTP, against a real scheduler and executors running raster jobs:
//! the pages and their JSON twins, one graph box per stage, cancelling from the UI, a lost
//! executor, escaping, and users. (Driving the pages in a browser is for the browser tests.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ardent_engine::distributed::rest::SchedulerApi;
use ardent_engine::session::session_for;
use base64::Engine;
use datafusion::prelude::SessionConfig;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::common::*;

/// A response's status, headers and body, whatever the status.
pub struct Answer {
    pub status: u16,
    pub body: String,
    authenticate: Option<String>,
}

fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut response = if method == "POST" {
        let mut r = agent.post(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send_empty()
    } else {
        let mut r = agent.get(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.call()
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    Answer {
        status: response.status().as_u16(),
        authenticate: response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub fn get(url: &str) -> Answer {
    request("GET", url, &[])
}

pub fn json(url: &str) -> Value {
    let answer = get(url);
    assert_eq!(answer.status, 200, "{url}: {}", answer.body);
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{url}: {e}: {}", answer.body))
}

pub fn yearly_ndvi(options: &str) -> String {
    format!(
        "CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations'{options});
         SELECT CAST(date_part('year', date) AS INT) AS year, median(ndvi(red, nir)) AS ndvi
         FROM obs WHERE qa_clear(qa, 'c1') GROUP BY year ORDER BY year",
        stack().display()
    )
}

/// A scheduler serving its UI on `ui_port` (with `more` flags) and two executors of two
/// slots, whose loss the scheduler notices within seconds.
pub fn ui_cluster(ui_port: u16, more: &[&str]) -> Cluster {
    let port = ui_port.to_string();
    let mut flags = vec![
        "--ui-port",
        &port,
        "--executor-timeout-seconds",
        "6",
        "--expire-dead-executor-interval-seconds",
        "1",
    ];
    flags.extend_from_slice(more);
    Cluster::start_with(
        2,
        2,
        &flags,
        &["--executor-heartbeat-interval-seconds", "1"],
    )
}

/// A scheduler with one user, serving its UI on the port returned, and one executor.
pub fn users_cluster(user: &str, password: &str) -> (Cluster, u16) {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let line = ardent_engine::users::hash_line(user, password).unwrap();
    std::fs::write(&users, line).unwrap();
    let ui_port = free_port();
    let flags = [
        "--ui-port",
        &ui_port.to_string(),
        "--users",
        users.to_str().unwrap(),
    ];
    // The scheduler has read the users file once it has started.
    (Cluster::start_with(1, 1, &flags, &[]), ui_port)
}

/// The sum of a figure over a stage's tasks, each of which must have it.
fn task_total(stage: &Value, field: &str) -> u64 {
    stage["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[field].as_u64().unwrap_or_else(|| panic!("{field}: {t}")))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_shows_jobs_stages_executors_and_caches() {
    let ui_port = free_port();
    let cluster = ui_cluster(ui_port, &[]);
    assert!(
        cluster
            .logs()
            .contains(&format!("web UI on http://127.0.0.1:{ui_port}")),
        "the scheduler says where its UI is: {}",
        cluster.logs()
    );
    let base = format!("http://127.0.0.1:{ui_port}");
    let ctx = session_for(&cluster.master(), SessionConfig::new())
        .await
        .unwrap();
    for statement in yearly_ndvi("").split(';') {
        ctx.sql(statement).await.unwrap().collect().await.unwrap();
    }

    // The Jobs page and its JSON twin: the job, completed.
    let jobs = json(&format!("{base}/api/ui/jobs"));
    let job = &jobs.as_array().unwrap()[0];
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["stages_done"], job["stages"], "{job}");
    let page = get(&format!("{base}/jobs"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("href=\"/job/{id}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("state-completed"));
    assert_eq!(get(&base).status, 303, "/ leads to the jobs");

    // The job's page: one box per stage of the plan (as Ballista's own API lists them), the
    // tasks with their executors, the plan with metrics.
    let stages = json(&format!("{base}/api/job/{id}/stages"));
    let stage_count = stages["stages"].as_array().unwrap().len();
    assert!(stage_count >= 2, "{stages}");
    let page = get(&format!("{base}/job/{id}"));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.matches("<rect").count(),
        stage_count,
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches("class=\"shuffle\"").count(),
        stage_count - 1
    );
    assert!(page.body.contains("RasterScanExec"), "{}", page.body);
    let detail = json(&format!("{base}/api/ui/job/{id}"));
    let executors: Vec<&str> = detail["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["tasks"].as_array().unwrap())
        .filter_map(|t| t["executor"].as_str())
        .collect();
    assert!(!executors.is_empty(), "{detail}");
    // Rows and bytes each task wrote: the stage over the stack's tasks wrote its two yearly
    // partial aggregates, as the stage's own metrics count them.
    let scan = &detail["stages"][0];
    let written = |field: &str| task_total(scan, field);
    assert_eq!(written("rows_out"), 2, "{scan}");
    assert!(written("bytes_out") > 0, "{scan}");
    // What each task read: the scan's tasks read pixel values from the files, more rows than
    // they wrote; the stage after it read, over its tasks, exactly the rows the scan wrote.
    // Each figure is there for each task (`task_total` insists).
    assert!(written("rows_in") > 2, "{scan}");
    assert!(written("bytes_in") > 0, "{scan}");
    assert_eq!(written("spilled_bytes"), 0, "{scan}");
    let scan_id = scan["id"].as_u64().unwrap();
    let reader = detail["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reads"].as_array().unwrap().contains(&scan_id.into()))
        .unwrap_or_else(|| panic!("a stage reads the scan's: {detail}"));
    let read = |field: &str| task_total(reader, field);
    assert_eq!(read("rows_in"), 2, "{reader}");
    // Bytes a shuffle read counts only when fetched from another executor.
    read("bytes_in");
    for task in scan["tasks"].as_array().unwrap() {
        assert_eq!(task["attempt"], 0, "a first run: {task}");
    }
    assert!(
        scan["plan"].as_str().unwrap().contains("output_rows=2"),
        "{scan}"
    );
    assert!(
        !page.body.contains("Cancel job"),
        "a completed job has no cancel button"
    );
    assert_eq!(get(&format!("{base}/job/NOSUCHJOB")).status, 404);

    // Executors and caches.
    let listed = json(&format!("{base}/api/ui/executors"));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(executors.iter().all(|e| listed.to_string().contains(e)));
    let page = get(&format!("{base}/executors"));
    assert_eq!(
        page.body.matches("class=\"executor alive\"").count(),
        2,
        "{}",
        page.body
    );
    let caches = json(&format!("{base}/api/caches"));
    let stores = caches["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 2, "{caches}");
    assert!(stores
        .iter()
        .all(|s| s["memory_limit"].as_u64().unwrap() > 0));
    assert_eq!(get(&format!("{base}/caches")).status, 200);
    assert_eq!(get(&format!("{base}/static/ui.js")).status, 200);

    // A cancel posted from another site is refused; the job is untouched.
    let refused = request(
        "POST",
        &format!("{base}/job/{id}/cancel"),
        &[("Origin", "https://elsewhere.example")],
    );
    assert_eq!(refused.status, 403);

    // A killed executor stays listed, as lost.
    cluster.kill(|m| m.role == "executor0");
    wait_until(
        "the killed executor shown as lost",
        Duration::from_secs(60),
        || {
            let listed = json(&format!("{base}/api/ui/executors"));
            let lost = listed
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| !e["lost_at_ms"].is_null())
                .count();
            lost == 1 && listed.as_array().unwrap().len() == 2
        },
    );
    let page = get(&format!("{base}/executors"));
    assert!(
        page.body.contains("class=\"executor lost\""),
        "{}",
        page.body
    );
}

#[test]
fn a_running_job_is_cancelled_from_the_ui() {
    let ui_port = free_port();
    let cluster = Cluster::start_with(1, 1, &["--ui-port", &ui_port.to_string()], &[]);
    let base = format!("http://127.0.0.1:{ui_port}");
    // 2 px chips, one a partition, on one slot: hundreds of tasks, seconds of work.
    let url = format!("df://127.0.0.1:{}", cluster.port);
    let sql = yearly_ndvi(", 'chip_size' '2', 'chips_per_partition' '1'");
    let mut client = Command::new(ardent_bin())
        .args(["sql", "--quiet", "--master", &url, &sql])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut id = String::new();
    wait_until("a running job", Duration::from_secs(60), || {
        let jobs = json(&format!("{base}/api/ui/jobs"));
        match jobs
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["state"] == "running")
        {
            Some(job) => {
                id = job["id"].as_str().unwrap().to_string();
                let name = job["name"].as_str().unwrap();
                assert!(
                    name.starts_with("ardent-") && name.contains(": SELECT CAST(date_part"),
                    "the CLI's job is named after its SQL: {name}"
                );
                true
            }
            None => false,
        }
    });
    let page = get(&format!("{base}/job/{id}"));
    assert!(page.body.contains("Cancel job"), "{}", page.body);
    assert!(page.body.contains("data-live=\"true\""));
    // As the page's form posts it, from the same origin.
    let cancelled = request(
        "POST",
        &format!("{base}/job/{id}/cancel"),
        &[("Origin", &base), ("Host", &format!("127.0.0.1:{ui_port}"))],
    );
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    wait_until("the job to stop", Duration::from_secs(60), || {
        json(&format!("{base}/api/ui/job/{id}"))["job"]["state"] != "running"
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the client waits on a cancelled job"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "the client of a cancelled job fails");
    let api = SchedulerApi::new("127.0.0.1", cluster.port);
    let job = api
        .jobs()
        .unwrap()
        .into_iter()
        .find(|j| j.job_id == id)
        .unwrap();
    assert_ne!(job.status, "Completed", "{job:?}");
}

#[test]
fn the_cli_prints_each_jobs_page() {
    // No --ui-port: the UI takes the first free port from 4040, where the client looks.
    let cluster = Cluster::start(1);
    let url = format!("df://127.0.0.1:{}", cluster.port);
    let sql = yearly_ndvi(", 'chip_size' '3', 'chips_per_partition' '1'");
    let out = Command::new(ardent_bin())
        .args(["sql", "--master", &url, &sql])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("job ") && l.contains("/job/"))
        .unwrap_or_else(|| panic!("no job page printed: {err}"));
    let (id, page) = line["job ".len()..].split_once(": ").unwrap();
    assert!(page.starts_with("http://127.0.0.1:40"), "{line}");
    assert!(page.ends_with(&format!("/job/{id}")), "{line}");
    let answer = get(page);
    assert_eq!(answer.status, 200, "{page}");
    assert!(
        answer.body.contains(&format!("Job {id}")),
        "{}",
        answer.body
    );
}

#[test]
fn a_local_session_serves_its_statements() {
    let ui_port = free_port();
    // 1 px chips, one a partition: minutes of reading in local mode, cancelled long before.
    let sql = yearly_ndvi(", 'chip_size' '1', 'chips_per_partition' '1'");
    let mut client = Command::new(ardent_bin())
        .args(["sql", "--quiet", &format!("--ui={ui_port}"), &sql])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(client.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut err, &mut first).unwrap();
    let base = format!("http://127.0.0.1:{ui_port}");
    assert_eq!(
        first.trim(),
        format!("web UI of this session: {base} (until it ends)")
    );

    // The table's statement done, the query running: its plan and metrics, a cancel button.
    let mut id = String::new();
    wait_until("the query running", Duration::from_secs(60), || {
        let jobs = json(&format!("{base}/api/ui/jobs"));
        let jobs = jobs.as_array().unwrap();
        match jobs.iter().find(|j| j["state"] == "running") {
            Some(job) if jobs.len() == 2 => {
                assert_eq!(jobs[1]["state"], "completed", "{jobs:?}");
                assert!(jobs[1]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("CREATE EXTERNAL TABLE"));
                id = job["id"].as_str().unwrap().to_string();
                true
            }
            _ => false,
        }
    });
    let mut page = get(&format!("{base}/job/{id}"));
    wait_until("the query's plan", Duration::from_secs(30), || {
        page = get(&format!("{base}/job/{id}"));
        page.body.contains("RasterScanExec")
    });
    assert_eq!(page.status, 200);
    for shown in [
        "median(ndvi(red, nir))",
        "files_opened=",
        "Cancel job",
        "data-live=\"true\"",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(
        !page.body.contains("href=\"/executors\""),
        "a local session has no executors"
    );
    assert_eq!(get(&format!("{base}/job/99")).status, 404);

    let cancelled = request(
        "POST",
        &format!("{base}/job/{id}/cancel"),
        &[("Origin", &base), ("Host", &format!("127.0.0.1:{ui_port}"))],
    );
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    let status = client.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(!status.success());
    assert!(
        rest.contains("error:") && rest.contains("cancelled from the web UI"),
        "{rest}"
    );
    assert!(!rest.contains("panicked"), "{rest}");

    // Bad uses of --ui.
    assert_clean_failure(
        &ardent(&["sql", "--ui=forty", "SELECT 1"]),
        &["--ui=PORT takes a port number", "'forty'"],
    );
    assert_clean_failure(
        &ardent(&["sql", "--master", "df://127.0.0.1:1", "--ui", "SELECT 1"]),
        &["--ui serves a local session's UI"],
    );
}

#[test]
fn with_users_every_page_and_api_asks_for_credentials() {
    let (cluster, ui_port) = users_cluster("ann", "s3cret pass");
    let base = format!("http://127.0.0.1:{ui_port}");
    let basic = |pair: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    for path in [
        "/jobs",
        "/executors",
        "/caches",
        "/sessions",
        "/api/ui/jobs",
        "/api/ui/sessions",
        "/api/caches",
        "/api/jobs",
        "/api/executors",
    ] {
        let url = format!("{base}{path}");
        let none = get(&url);
        assert_eq!(none.status, 401, "{path} without credentials");
        assert!(
            none.authenticate
                .as_deref()
                .is_some_and(|a| a.starts_with("Basic")),
            "{path}"
        );
        let wrong = request("GET", &url, &[("Authorization", &basic("ann:wrong"))]);
        assert_eq!(wrong.status, 401, "{path} with a wrong password");
        assert!(!wrong.body.contains("ann"), "refusals do not echo the user");
        let right = request("GET", &url, &[("Authorization", &basic("ann:s3cret pass"))]);
        assert_eq!(right.status, 200, "{path}: {}", right.body);
    }
    assert!(
        !cluster.logs().contains("s3cret"),
        "the password is never logged"
    );
}

#[test]
fn a_ui_open_to_the_network_needs_users() {
    let out = Command::new(ardent_bin().with_file_name("ardent-scheduler"))
        .args([
            "--bind-port",
            &free_port().to_string(),
            "--ui-port",
            &free_port().to_string(),
            "--ui-bind-host",
            "0.0.0.0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--users") && err.contains("web UI"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
