//! The web UI in a real browser: Debian's chromium, headless, driven over WebDriver
//! (chromedriver, through fantoccini) against a scheduler and two executors running raster and
//! CCDC jobs submitted by the `ardent` CLI. Pages update live without a reload; a job's graph has
//! one box per stage; a failing job names its executor; a cancel from the page stops the job;
//! SQL text holding `<script>` is shown as text; a Flight SQL session is listed with its running
//! statement; a killed executor shows as lost; with users, nothing answers the browser without
//! credentials.
//!
//! Each page's screenshot is written to `ARDENT_UI_SCREENSHOTS` (the README's pictures under
//! docs/ui are made with `ARDENT_UI_SCREENSHOTS=docs/ui`), else under the target dir, and is
//! checked to be a picture of something.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arrow_flight::sql::client::FlightSqlServiceClient;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::cache::CCDC;
use crate::cluster::Cluster;
use crate::common::*;
use crate::ui::{json, ui_cluster, users_cluster, yearly_ndvi};

/// The longest any one thing the browser waits for may take (a page update, a job's end).
const PATIENCE: Duration = Duration::from_secs(120);

/// A headless chromium under a chromedriver of its own, both stopped on drop.
struct Browser {
    runtime: Option<tokio::runtime::Runtime>,
    client: Option<Client>,
    driver: Child,
    profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver: {e} (scripts/install-deps.sh installs chromium-driver)")
            });
        let status = format!("http://127.0.0.1:{port}/status");
        wait_until("chromedriver to answer", Duration::from_secs(30), || {
            ureq::get(&status).call().is_ok()
        });
        let profile = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,960", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let client = runtime
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.as_object().unwrap().clone())
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .unwrap_or_else(|e| panic!("a chromium session: {e}"));
        let shots = std::env::var_os("ARDENT_UI_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots"));
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            runtime: Some(runtime),
            client: Some(client),
            driver,
            profile,
            shots,
        }
    }

    fn run<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> T {
        self.runtime()
            .block_on(f)
            .unwrap_or_else(|e| panic!("browser: {what}: {e}"))
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().unwrap()
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    fn open(&self, url: &str) {
        self.run(url, self.client().goto(url));
    }

    /// The value of a JavaScript expression on the page.
    fn eval(&self, expression: &str) -> Value {
        self.run(
            expression,
            self.client()
                .execute(&format!("return ({expression});"), vec![]),
        )
    }

    fn count(&self, css: &str) -> usize {
        let found = self.eval(&format!("document.querySelectorAll({css:?}).length"));
        found.as_u64().unwrap() as usize
    }

    fn text(&self, css: &str) -> String {
        let text = self.eval(&format!(
            "(document.querySelector({css:?}) || {{}}).textContent || ''"
        ));
        text.as_str().unwrap().to_string()
    }

    /// Clicks the element in the page itself: the live refresh swaps the page's content every
    /// two seconds, so an element looked up first and clicked later may be gone.
    fn click(&self, css: &str) {
        let clicked = self.eval(&format!(
            "(function (e) {{ if (!e) return false; e.click(); return true; }})(document.querySelector({css:?}))"
        ));
        assert_eq!(clicked, Value::Bool(true), "nothing to click at {css}");
    }

    /// Waits until `css` matches on the page as it is now (live updates included).
    fn wait_for(&self, css: &str, what: &str) {
        let found = self.runtime().block_on(
            self.client()
                .wait()
                .at_most(PATIENCE)
                .every(Duration::from_millis(200))
                .for_element(Locator::Css(css)),
        );
        if let Err(e) = found {
            let page = self.eval("document.body ? document.body.innerText : ''");
            panic!("waiting for {what} ({css}): {e}\npage:\n{page}");
        }
    }

    /// Waits until a JavaScript expression holds on the page.
    fn wait_js(&self, expression: &str, what: &str) {
        let deadline = std::time::Instant::now() + PATIENCE;
        while self.eval(expression) != Value::Bool(true) {
            if std::time::Instant::now() > deadline {
                let page = self.eval("document.body ? document.body.innerText : ''");
                panic!("waiting for {what} ({expression})\npage:\n{page}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Writes a screenshot of the window and checks it shows something: not one colour, and
    /// more than a sliver of pixels unlike the background.
    fn screenshot(&self, name: &str) -> PathBuf {
        let bytes = self.run("screenshot", self.client().screenshot());
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, &bytes).unwrap();
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let channels = info.color_type.samples();
        let pixels: Vec<&[u8]> = pixels[..info.buffer_size()].chunks(channels).collect();
        let background = pixels[0];
        let unlike = pixels.iter().filter(|p| **p != background).count();
        assert!(
            info.width >= 1000 && unlike * 50 > pixels.len(),
            "{} looks blank: {unlike} of {} pixels unlike the background",
            path.display(),
            pixels.len()
        );
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver first, so nothing waits on it; then the browser it started, found by its
        // profile; then the session's tasks, given a moment.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args(["-f", &self.profile.path().display().to_string()])
            .status();
        drop(self.client.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// `ardent sql` against the cluster, in the background.
fn submit(cluster: &Cluster, sql: &str) -> Child {
    Command::new(ardent_bin())
        .args([
            "sql",
            "--quiet",
            "--master",
            &format!("df://127.0.0.1:{}", cluster.port),
            sql,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the client to end and returns whether it succeeded, with its stderr.
fn finish(client: Child) -> (bool, String) {
    let out = client.wait_with_output().unwrap();
    (out.status.success(), stderr(&out))
}

/// The id of the newest job row the page shows in `state`.
fn newest_job(browser: &Browser, state: &str) -> String {
    let css = format!("tr.job.state-{state}");
    browser.wait_for(&css, &format!("a {state} job on the Jobs page"));
    let id = browser.eval(&format!(
        "document.querySelector({css:?}).getAttribute('data-job')"
    ));
    id.as_str().unwrap().to_string()
}

#[test]
fn the_pages_in_a_browser() {
    let ui_port = free_port();
    let flight_sql_port = free_port().to_string();
    let cluster = ui_cluster(ui_port, &["--flight-sql-port", &flight_sql_port]);
    let base = format!("http://127.0.0.1:{ui_port}");
    let browser = Browser::start();

    // A CCDC job seen running, then completed, on a page that was never reloaded.
    browser.open(&format!("{base}/jobs"));
    browser.wait_for("p.empty", "the empty Jobs page");
    // What the page shows running, as it updates itself (the page is never reloaded: the
    // marker stays).
    browser.eval(
        "(window.ardentLoaded = 'once', window.seenRunning = {}, setInterval(function () { \
           document.querySelectorAll('tr.job.state-running').forEach(function (r) { \
             window.seenRunning[r.getAttribute('data-job')] = true; }); }, 100), true)",
    );
    let ccdc = submit(
        &cluster,
        &format!(
            "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{}'
               OPTIONS ('layout' 'pixels', 'chip_size' '3', 'chips_per_partition' '1');
             CACHE TABLE segs AS SELECT row, col, {CCDC} AS c FROM pix;
             SELECT count(*) AS pixels FROM segs",
            stack().display()
        ),
    );
    let (ok, err) = finish(ccdc);
    assert!(ok, "{err}");
    // The CCDC job: the statement's job with the most partitions (the cache fill).
    let jobs = json(&format!("{base}/api/ui/jobs"));
    let id = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["name"]
                .as_str()
                .unwrap()
                .contains(": CACHE TABLE segs AS SELECT")
        })
        .max_by_key(|j| j["partitions"].as_u64())
        .map(|j| j["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no CCDC job: {jobs}"));
    browser.wait_for(
        &format!("tr.job.state-completed[data-job={id:?}]"),
        "the CCDC job shown completed",
    );
    assert_eq!(
        browser.eval(&format!("window.seenRunning[{id:?}] === true")),
        json!(true),
        "the page showed the CCDC job running"
    );
    assert_eq!(
        browser.eval("window.ardentLoaded"),
        json!("once"),
        "the page was updated in place, not reloaded"
    );
    browser.wait_js(
        "document.querySelector('p.summary').textContent.startsWith('0 running')",
        "no job running",
    );
    browser.screenshot("jobs");

    // Its page, reached by its link: one box per stage of the plan.
    browser.click(&format!("a[href=\"/job/{id}\"]"));
    browser.wait_for("svg.stage-graph", "the job's stage graph");
    let stages = json(&format!("{base}/api/job/{id}/stages"));
    let stages = stages["stages"].as_array().unwrap().len();
    assert!(stages >= 1);
    assert_eq!(browser.count("svg.stage-graph rect"), stages);
    assert_eq!(browser.count("svg.stage-graph line.shuffle"), stages - 1);
    let page = browser.text("#content");
    // The plan with its metrics: the cache's fill read the stack (files opened, windows read).
    assert!(
        page.contains("CacheScanExec")
            && page.contains("files_opened=")
            && page.contains("windows_read="),
        "{page}"
    );
    browser.screenshot("job");

    browser.open(&format!("{base}/caches"));
    browser.wait_for("#content table", "the cache listed");
    let page = browser.text("#content");
    assert!(page.contains("segs"), "{page}");
    browser.screenshot("caches");

    // SQL text holding markup is shown as text: no script of the job's runs.
    let marked = submit(
        &cluster,
        &format!(
            "{}; SELECT count(*) AS n FROM obs WHERE '<script>document.title=\"owned\"</script>' <> ''",
            yearly_ndvi("").split(';').next().unwrap()
        ),
    );
    let (ok, err) = finish(marked);
    assert!(ok, "{err}");
    browser.open(&format!("{base}/jobs"));
    browser.wait_js(
        "document.querySelector('tbody').textContent.includes(\"'<script>document.title\")",
        "the job's SQL shown as text",
    );
    assert_eq!(browser.count("#content script"), 0);
    assert_eq!(browser.eval("document.title"), json!("Jobs · ardent"));

    // A failing job: a stack whose red band file lost its pixels (its header still reads, so the
    // job plans, and an executor fails to read it).
    let damaged = tempfile::tempdir().unwrap();
    copy_stack(damaged.path());
    let red = tifs(damaged.path())
        .into_iter()
        .find(|p| {
            let name = p.to_string_lossy();
            name.contains("LC08") && name.ends_with("SRB4.tif")
        })
        .unwrap();
    let size = std::fs::metadata(&red).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&red)
        .unwrap()
        .set_len(size / 4)
        .unwrap();
    let failing = submit(
        &cluster,
        &format!(
            "CREATE EXTERNAL TABLE bad STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations');
             SELECT sum(red) FROM bad",
            damaged.path().display()
        ),
    );
    let (ok, err) = finish(failing);
    assert!(!ok, "a job over a damaged stack fails");
    let failed = newest_job(&browser, "failed");
    browser.click(&format!("a[href=\"/job/{failed}\"]"));
    browser.wait_for("p.failed-on", "the executor the job failed on");
    let executors = json(&format!("{base}/api/ui/executors"));
    let named = browser.text("p.failed-on");
    assert!(
        executors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| named.contains(e["id"].as_str().unwrap())),
        "{named}"
    );
    assert!(
        browser
            .text("section.error pre")
            .contains(&red.file_name().unwrap().to_string_lossy().to_string()),
        "{err}"
    );
    browser.screenshot("job-failed");

    // A cancel from the job's page stops the job, and its client fails.
    let slow = submit(
        &cluster,
        &yearly_ndvi(", 'chip_size' '1', 'chips_per_partition' '1'"),
    );
    browser.open(&format!("{base}/jobs"));
    let running = newest_job(&browser, "running");
    browser.click(&format!("a[href=\"/job/{running}\"]"));
    browser.wait_for("form.cancel button", "the cancel button");
    browser.click("form.cancel button");
    browser.wait_for("h1 .badge.state-failed", "the job stopped");
    let (ok, _) = finish(slow);
    assert!(!ok, "the client of a cancelled job fails");
    assert_eq!(browser.count("form.cancel"), 0);

    // A Flight SQL client's session (anonymous: this scheduler has no users) and the
    // statement it runs.
    let slow = "SELECT count(*) FROM range(100000000000) WHERE value % 7 = 2";
    let client = browser.runtime().spawn({
        let endpoint = format!("http://127.0.0.1:{flight_sql_port}");
        async move {
            let channel = tonic::transport::Channel::from_shared(endpoint)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let _ = FlightSqlServiceClient::new(channel)
                .execute(slow.to_string(), None)
                .await;
        }
    });
    browser.open(&format!("{base}/sessions"));
    browser.wait_for(
        "tr.session div.statement",
        "the session's running statement",
    );
    assert!(browser
        .text("tr.session")
        .contains("anonymous: SELECT count(*) FROM range("));
    browser.screenshot("sessions");
    client.abort();

    // A killed executor is shown lost, without a reload.
    browser.open(&format!("{base}/executors"));
    browser.wait_for("tr.executor.alive:nth-child(2)", "two executors alive");
    cluster.kill(|m| m.role == "executor0");
    browser.wait_for("tr.executor.lost", "the killed executor shown lost");
    assert_eq!(browser.count("tr.executor.alive"), 1);
    browser.screenshot("executors");
}

#[test]
fn with_users_the_browser_sees_nothing_without_credentials() {
    let (_cluster, ui_port) = users_cluster("ann", "s3cret");
    let browser = Browser::start();
    // The user's credentials, given in the address as a browser keeps them for the site.
    browser.open(&format!("http://ann:s3cret@127.0.0.1:{ui_port}/jobs"));
    browser.wait_for("p.empty", "the Jobs page, with credentials");
    // From that page, every page and API asked without them is refused, and with them answers
    // (asked of the server each time, not of the browser's cache).
    let paths = json!([
        "/jobs",
        "/executors",
        "/caches",
        "/sessions",
        "/api/ui/jobs",
        "/api/caches",
        "/api/jobs",
        "/static/ui.js"
    ]);
    let statuses = |credentials: &str| {
        browser.run(
            "fetching the UI's paths",
            browser.client().execute_async(
                &format!(
                    "const done = arguments[arguments.length - 1];
                     Promise.all(arguments[0].map(function (p) {{
                       var url = location.protocol + '//' + location.host + p;
                       return fetch(url, {{ credentials: '{credentials}', cache: 'no-store' }}).then(function (r) {{ return r.status; }});
                     }})).then(done, function (e) {{ done(String(e)); }});"
                ),
                vec![paths.clone()],
            ),
        )
    };
    assert_eq!(
        statuses("omit"),
        json!([401, 401, 401, 401, 401, 401, 401, 401])
    );
    assert_eq!(
        statuses("same-origin"),
        json!([200, 200, 200, 200, 200, 200, 200, 200])
    );
}
