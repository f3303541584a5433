//! Shared fixtures: small synthetic stacks, the `ardent` binary, query helpers.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ardent_engine::provider::{RasterScanExec, ScanPlan};
use ardent_engine::synth::{generate, SynthConfig};
use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::SessionContext;

/// Side of the shared stack, in pixels.
pub const SIZE: usize = 30;

/// A small stack shared by read-only tests: 30 x 30 px over 2014-2015.
pub fn stack() -> &'static Path {
    static STACK: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = STACK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stack");
        write_stack(&path, SIZE, (2014, 1, 1), (2015, 12, 31));
        (dir, path)
    });
    path
}

/// Generates a stack at `out`.
pub fn write_stack(
    out: &Path,
    size: usize,
    start: (i32, u32, u32),
    end: (i32, u32, u32),
) -> ardent_engine::synth::SynthSummary {
    let date = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("date");
    let config = SynthConfig {
        out: out.to_path_buf(),
        size,
        start: date(start),
        end: date(end),
        ..SynthConfig::default()
    };
    generate(&config, &|_, _| {}).expect("synthetic stack")
}

/// Copies a stack to a fresh folder, for tests that damage it.
pub fn copy_stack(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(stack()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The GeoTIFFs of a stack folder, sorted.
pub fn geotiffs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tif"))
        .collect();
    files.sort();
    files
}

/// The ARD band files of a stack folder, sorted: its GeoTIFFs without the synthetic stack's
/// label and elevation layers.
pub fn tifs(dir: &Path) -> Vec<PathBuf> {
    geotiffs(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            matches!(ardent_engine::ard::ArdName::parse(&name), Ok(Some(_)))
        })
        .collect()
}

/// Number of acquisitions in a stack folder (eight files each).
pub fn acquisitions(dir: &Path) -> usize {
    tifs(dir).len() / 8
}

/// The `ardent` binary built beside this test binary, with `ardent-scheduler` and
/// `ardent-executor`. Tests in another package cannot ask cargo for them, so when one is missing
/// (`cargo test --workspace` on a clean checkout) they are built once, in this test's profile.
pub fn ardent_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test binary path");
            let dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target dir")
                .to_path_buf();
            let binaries = ["ardent", "ardent-scheduler", "ardent-executor"];
            if binaries.iter().any(|b| !dir.join(b).exists()) {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let mut build = Command::new(cargo);
                build.args([
                    "build",
                    "--bins",
                    "-p",
                    "ardent-cli",
                    "-p",
                    "ardent-scheduler",
                    "-p",
                    "ardent-executor",
                ]);
                if dir.file_name().is_some_and(|p| p == "release") {
                    build.arg("--release");
                }
                let status = build.status().expect("cargo runs");
                assert!(status.success(), "building the ardent binaries failed");
            }
            dir.join("ardent")
        })
        .clone()
}

/// Runs `ardent` with `args` and no ARDENT_MASTER from the environment.
pub fn ardent(args: &[&str]) -> Output {
    Command::new(ardent_bin())
        .args(args)
        .env_remove("ARDENT_MASTER")
        .output()
        .expect("ardent runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the command failed cleanly: non-zero exit, one `error:` line naming `expected`, no panic.
pub fn assert_clean_failure(o: &Output, expected: &[&str]) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stdout: {}",
        stdout(o)
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains("error:"), "no error line: {err}");
    for e in expected {
        assert!(err.contains(e), "stderr lacks '{e}': {err}");
    }
}

/// A local session with `partitions` target partitions.
pub fn session(partitions: usize) -> SessionContext {
    ardent_engine::session::local_session(Some(partitions))
}

/// Runs a query and returns its batches.
pub async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The error of a query that plans but fails when run, as text.
pub async fn execution_error(ctx: &SessionContext, sql: &str) -> String {
    match ctx.sql(sql).await {
        Ok(frame) => frame
            .collect()
            .await
            .err()
            .unwrap_or_else(|| panic!("{sql}: ran without error"))
            .to_string(),
        Err(e) => panic!("{sql}: failed at planning: {e}"),
    }
}

/// Runs a query and returns the single value of its single row, as text.
pub async fn scalar(ctx: &SessionContext, sql: &str) -> String {
    let batches = query(ctx, sql).await;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1, "{sql}");
    let b = batches.iter().find(|b| b.num_rows() > 0).unwrap();
    datafusion::arrow::util::display::array_value_to_string(b.column(0), 0).unwrap()
}

/// The physical plan of a query.
pub async fn physical_plan(ctx: &SessionContext, sql: &str) -> Arc<dyn ExecutionPlan> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .create_physical_plan()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The plans of the raster scans in a physical plan.
pub fn raster_scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<ScanPlan> {
    let mut scans = Vec::new();
    visit(plan, &mut |node| {
        if let Some(scan) = node.downcast_ref::<RasterScanExec>() {
            scans.push(scan.plan().clone());
        }
    });
    scans
}

/// Runs a query through its physical plan and returns the batches and the raster scan's
/// `files_opened` total.
pub async fn run_counting_files(ctx: &SessionContext, sql: &str) -> (Vec<RecordBatch>, usize) {
    let plan = physical_plan(ctx, sql).await;
    let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
    let mut files = 0;
    visit(&plan, &mut |node| {
        if node.downcast_ref::<RasterScanExec>().is_some() {
            files += node
                .metrics()
                .and_then(|m| m.sum_by_name("files_opened"))
                .map_or(0, |v| v.as_usize());
        }
    });
    (batches, files)
}

/// Calls `f` on every node of a physical plan, parents first.
pub fn visit(plan: &Arc<dyn ExecutionPlan>, f: &mut dyn FnMut(&dyn ExecutionPlan)) {
    f(plan.as_ref());
    for child in plan.children() {
        visit(child, f);
    }
}

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Batches as a text table, for comparing results.
pub fn pretty(batches: &[RecordBatch]) -> String {
    datafusion::arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
}

/// The tests' Python (moto and boto3; pyccd 2021.7.19 on its pinned numpy, scipy and
/// scikit-learn): `ARDENT_TEST_PYTHON`, else the workspace's `.venv` (made by `make test`).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("ARDENT_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `make venv` (make test does) or set ARDENT_TEST_PYTHON",
        venv.display()
    );
    venv
}

/// A moto S3 server on a free loopback port, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            // The recorder's file (see `recorder`) goes to the temp dir, not the working tree.
            .env("MOTO_RECORDER_FILEPATH", recording_path(port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        wait_until(
            &format!("moto to listen on port {port}"),
            Duration::from_secs(30),
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        moto
    }

    /// Creates `bucket` and uploads the files of `folder` under `prefix`.
    pub fn upload(&self, folder: &Path, bucket: &str, prefix: &str) {
        let upload = Command::new(python())
            .args([
                "-c",
                UPLOAD,
                &self.endpoint,
                bucket,
                prefix,
                folder.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            upload.status.success(),
            "{}",
            String::from_utf8_lossy(&upload.stderr)
        );
    }
}

impl Moto {
    /// Calls moto's recorder API (`start-recording` or `download-recording`): the recording is
    /// one JSON object per request, with its headers.
    pub fn recorder(&self, action: &str) -> String {
        let method = if action == "download-recording" {
            "GET"
        } else {
            "POST"
        };
        let call = Command::new(python())
            .args([
                "-c",
                "import sys, urllib.request as u; r = u.Request(sys.argv[1], method=sys.argv[2]); \
                 print(u.urlopen(r).read().decode())",
                &format!("{}/moto-api/recorder/{action}", self.endpoint),
                method,
            ])
            .output()
            .unwrap();
        assert!(
            call.status.success(),
            "{}",
            String::from_utf8_lossy(&call.stderr)
        );
        String::from_utf8_lossy(&call.stdout).into_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(port) = self
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
        {
            let _ = std::fs::remove_file(recording_path(port));
        }
    }
}

fn recording_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("ardent-moto-recording-{port}"))
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

/// A port free on loopback now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `done` holds, asking every 100 ms, failing after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A land-cover model as XGBoost saves one: 9 classes over the 63 segment features, `trees[i]`
/// (in XGBoost's node arrays) adding to class i.
pub fn land_cover_model(trees: Vec<serde_json::Value>) -> String {
    serde_json::json!({"learner": {
        "learner_model_param": {"base_score": "5E-1", "num_class": "9", "num_feature": "63"},
        "objective": {"name": "multi:softprob"},
        "gradient_booster": {"name": "gbtree", "model": {
            "tree_info": (0..trees.len()).map(|t| t % 9).collect::<Vec<_>>(), "trees": trees}}}})
    .to_string()
}
