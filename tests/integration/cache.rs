//! The cache: `CACHE TABLE` and friends in local mode and on a one-host cluster, reuse proven by
//! the raster scan's metrics, spills, recomputation, staleness and every error case.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ardent_engine::cache::run::CacheExt;
use ardent_engine::cache::Storage;
use ardent_engine::cluster::registered_executors;
use ardent_engine::distributed::rest::SchedulerApi;
use ardent_engine::session::session_for;
use ardent_engine::session::{run_script, StatementResult};
use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::cluster::Cluster;
use crate::common::*;

/// The process's store is shared by every test of this binary: tests that change its budgets or
/// count its partitions take turns.
static STORE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The CCDC call over a `pixels` table.
pub const CCDC: &str = "ccdc(dates, blue, green, red, nir, swir1, swir2, thermal, qa)";

/// Runs a script (cache statements included) and returns its statements' results.
pub async fn script(ctx: &SessionContext, sql: &str) -> Vec<StatementResult> {
    run_script(ctx, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The error of a script that must fail.
pub async fn script_error(ctx: &SessionContext, sql: &str) -> String {
    match run_script(ctx, sql).await {
        Ok(r) => panic!(
            "{sql} succeeded: {}",
            pretty(&r.into_iter().flat_map(|r| r.batches).collect::<Vec<_>>())
        ),
        Err(e) => e.to_string(),
    }
}

/// What a query's scans did: the raster scans' files and windows (including those a cache scan
/// ran to compute partitions), and the cache scans' own counters.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanWork {
    pub files_opened: usize,
    pub windows_read: usize,
    pub cache_hits: usize,
    pub computed: usize,
    pub recomputed: usize,
}

impl ScanWork {
    pub fn of(plan: &Arc<dyn ExecutionPlan>) -> Self {
        let mut work = ScanWork::default();
        let mut stack = vec![Arc::clone(plan)];
        while let Some(node) = stack.pop() {
            // Other scans (CSV) count their own files_opened.
            let ours = matches!(node.name(), "RasterScanExec" | "CacheScanExec");
            if let Some(metrics) = node.metrics().filter(|_| ours) {
                let sum = |name: &str| metrics.sum_by_name(name).map_or(0, |v| v.as_usize());
                work.files_opened += sum("files_opened");
                work.windows_read += sum("windows_read");
                work.cache_hits += sum("cache_hits");
                work.computed += sum("partitions_computed");
                work.recomputed += sum("partitions_recomputed");
            }
            stack.extend(node.children().into_iter().cloned());
        }
        work
    }
}

/// Runs a query through its physical plan: its batches and what its scans did.
pub async fn run_measured(ctx: &SessionContext, sql: &str) -> (Vec<RecordBatch>, ScanWork) {
    let plan = physical_plan(ctx, sql).await;
    let batches = collect(Arc::clone(&plan), ctx.task_ctx())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    (batches, ScanWork::of(&plan))
}

/// One column of `SHOW CACHES` for the cache `name`, as text.
pub async fn show(ctx: &SessionContext, name: &str, column: &str) -> String {
    let results = script(ctx, "SHOW CACHES").await;
    let batch = &results[0].batches[0];
    let names = batch.column_by_name("name").unwrap();
    let row = (0..batch.num_rows())
        .find(|&i| {
            datafusion::arrow::util::display::array_value_to_string(names, i).unwrap() == name
        })
        .unwrap_or_else(|| {
            panic!(
                "SHOW CACHES has no '{name}': {}",
                pretty(std::slice::from_ref(batch))
            )
        });
    let value = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("SHOW CACHES has no column {column}"));
    datafusion::arrow::util::display::array_value_to_string(value, row).unwrap()
}

/// The three queries of the issue over cached segments, with `{segs}` for the table read.
pub fn segment_queries() -> [&'static str; 3] {
    [
        // Segments per chip.
        "SELECT CAST(row / 10 AS INT) AS chip_row, CAST(col / 10 AS INT) AS chip_col,
                sum(cardinality(c['change_models'])) AS segments
         FROM {segs} GROUP BY chip_row, chip_col ORDER BY chip_row, chip_col",
        // Change map: the year of each pixel's last break.
        "SELECT row, col, max(CAST(date_part('year', m['break_day']) AS INT)) AS last_break_year
         FROM (SELECT row, col, unnest(c['change_models']) AS m FROM {segs})
         WHERE m['change_probability'] = 1 GROUP BY row, col ORDER BY row, col",
        // A join with the generator's truth.
        // (The segment count is taken before the join: a struct field read through a join's
        // table alias does not survive Ballista's plan serialization in DataFusion 55.)
        "SELECT t.change_date IS NOT NULL AS changed, count(*) AS pixels, sum(s.n) AS segments
         FROM (SELECT row, col, cardinality(c['change_models']) AS n FROM {segs}) s
         JOIN truth t ON s.row = t.row AND s.col = t.col
         GROUP BY changed ORDER BY changed",
    ]
}

/// A local session whose cache budget is ample (another test may have left a small one).
async fn cache_session() -> SessionContext {
    let ctx = session(2);
    script(&ctx, "SET ardent.cache.memory_limit = '1G'").await;
    ctx
}

/// A local session with the shared stack as `pix` and `obs` (one 10 px chip a partition) and
/// its truth.
async fn stack_session() -> SessionContext {
    let ctx = cache_session().await;
    let location = stack().display();
    script(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{location}'
               OPTIONS ('layout' 'pixels', 'chip_size' '10', 'chips_per_partition' '1');
             CREATE EXTERNAL TABLE obs STORED AS RASTER LOCATION '{location}'
               OPTIONS ('layout' 'observations', 'chip_size' '10', 'chips_per_partition' '1');
             CREATE EXTERNAL TABLE truth STORED AS CSV LOCATION '{location}/truth.csv'
               OPTIONS ('format.has_header' 'true')"
        ),
    )
    .await;
    ctx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_segments_are_reused_locally() {
    let _store = STORE.lock().await;
    let ctx = stack_session().await;
    let lineage = format!("SELECT row, col, {CCDC} AS c FROM pix WHERE row < 4");
    script(&ctx, &format!("CREATE VIEW plain AS {lineage}")).await;
    let filled = script(&ctx, &format!("CACHE TABLE segs AS {lineage}")).await;
    let row = pretty(&filled[0].batches);
    assert!(row.contains("| segs ") && row.contains("ready"), "{row}");
    assert_eq!(show(&ctx, "segs", "partitions").await, "3/3");
    assert_eq!(show(&ctx, "segs", "rows").await, "120");
    assert_eq!(show(&ctx, "segs", "storage").await, "memory_and_disk");
    for sql in segment_queries() {
        let (uncached, plain_work) = run_measured(&ctx, &sql.replace("{segs}", "plain")).await;
        let (cached, work) = run_measured(&ctx, &sql.replace("{segs}", "segs")).await;
        assert_eq!(pretty(&cached), pretty(&uncached), "{sql}");
        assert!(plain_work.files_opened > 0, "{plain_work:?}");
        assert_eq!(
            (
                work.files_opened,
                work.windows_read,
                work.computed,
                work.cache_hits
            ),
            (0, 0, 0, 3),
            "{sql}"
        );
    }
    assert_eq!(show(&ctx, "segs", "hits").await, "9");
    assert_eq!(show(&ctx, "segs", "recomputed").await, "0");

    // UNCACHE keeps the name as the view it was, and drops the partitions.
    let dropped = script(&ctx, "UNCACHE TABLE segs").await;
    assert!(
        pretty(&dropped[0].batches).contains("| 3 "),
        "{}",
        pretty(&dropped[0].batches)
    );
    let (_, work) = run_measured(
        &ctx,
        "SELECT sum(cardinality(c['change_models'])) FROM segs",
    )
    .await;
    assert!(work.files_opened > 0 && work.cache_hits == 0, "{work:?}");
    assert!(script(&ctx, "SHOW CACHES").await[0].batches[0].num_rows() == 0);

    // The Rust call: a DataFrame cached under a name, read by the frame it returns and by SQL.
    let frame = ctx
        .sql("SELECT row, col, red[1] AS red FROM pix WHERE row < 4")
        .await
        .unwrap()
        .cache_as("reds", Storage::Memory)
        .await
        .unwrap();
    assert_eq!(frame.count().await.unwrap(), 120);
    let (_, work) = run_measured(&ctx, "SELECT sum(red) FROM reds").await;
    assert_eq!((work.files_opened, work.cache_hits), (0, 3), "{work:?}");
    assert_eq!(show(&ctx, "reds", "storage").await, "memory");
    script(&ctx, "CLEAR CACHE").await;

    // The CLI runs the same statements.
    let location = stack().display();
    let o = ardent(&[
        "sql",
        "--format",
        "csv",
        &format!(
            "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' 'pixels');
             CACHE TABLE reds OPTIONS ('storage' 'disk') AS SELECT row, red FROM pix WHERE row < 2;
             SELECT count(*) AS n FROM reds;
             SHOW CACHES"
        ),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("\n60\n") && out.contains("reds,disk,ready"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_spill_and_evict() {
    let _store = STORE.lock().await;
    let ctx = stack_session().await;
    let lineage = "SELECT row, col, date, red, nir FROM obs WHERE row < 20";
    let sums = "SELECT sum(red) AS red, sum(nir) AS nir, count(*) AS n FROM";
    let truth = pretty(&query(&ctx, &format!("{sums} ({lineage})")).await);
    let summed = &format!("{sums} kept");
    let dir = tempfile::tempdir().unwrap();

    // A budget smaller than any partition: memory_and_disk partitions go to spill files, which
    // read back equal and without reading the stack again.
    script(
        &ctx,
        &format!(
            "SET ardent.cache.memory_limit = '1K'; SET ardent.cache.dir = '{}';
             CACHE TABLE kept AS {lineage}",
            dir.path().display()
        ),
    )
    .await;
    assert_eq!(show(&ctx, "kept", "memory_bytes").await, "0");
    assert_ne!(show(&ctx, "kept", "disk_bytes").await, "0");
    let spilled = walk_files(dir.path());
    assert!(spilled.iter().any(|f| f.ends_with(".arrow")), "{spilled:?}");
    let (batches, work) = run_measured(&ctx, summed).await;
    assert_eq!(pretty(&batches), truth);
    assert_eq!((work.files_opened, work.cache_hits), (0, 6), "{work:?}");
    // As in Spark, the name stays a view of the query once uncached.
    script(&ctx, "UNCACHE TABLE kept; DROP VIEW kept").await;
    assert!(walk_files(dir.path())
        .iter()
        .all(|f| !f.ends_with(".arrow")));

    // A memory cache over the same budget keeps nothing: each read recomputes, correctly, and
    // the recomputations are counted.
    script(
        &ctx,
        &format!("CACHE TABLE kept OPTIONS ('storage' 'memory') AS {lineage}"),
    )
    .await;
    assert_eq!(show(&ctx, "kept", "state").await, "empty");
    let (batches, work) = run_measured(&ctx, summed).await;
    assert_eq!(pretty(&batches), truth);
    assert_eq!(work.recomputed, 6, "{work:?}");
    assert!(work.files_opened > 0, "{work:?}");
    assert_eq!(show(&ctx, "kept", "recomputed").await, "6");

    // Room for some partitions: the least recently used are evicted as others come in, and
    // every read is still right.
    script(
        &ctx,
        "SET ardent.cache.memory_limit = '500K'; REFRESH TABLE kept",
    )
    .await;
    let held = show(&ctx, "kept", "partitions").await;
    let memory = show(&ctx, "kept", "memory_bytes").await;
    assert!(held != "6/6" && held != "0/6", "{held} {memory}");
    for _ in 0..2 {
        let (batches, _) = run_measured(&ctx, summed).await;
        assert_eq!(pretty(&batches), truth);
    }
    script(
        &ctx,
        "SET ardent.cache.memory_limit = '1G'; CLEAR CACHE; DROP VIEW kept",
    )
    .await;

    // Two readers of one lazy cache at once: the same answers, each partition computed once.
    script(&ctx, &format!("CACHE LAZY TABLE kept AS {lineage}")).await;
    assert_eq!(show(&ctx, "kept", "state").await, "empty");
    let (a, b) = tokio::join!(run_measured(&ctx, summed), run_measured(&ctx, summed));
    assert_eq!((pretty(&a.0), pretty(&b.0)), (truth.clone(), truth.clone()));
    assert_eq!(a.1.computed + b.1.computed, 6, "{a:?} {b:?}");
    assert_eq!(a.1.cache_hits + b.1.cache_hits, 6, "{a:?} {b:?}");
    assert_eq!(show(&ctx, "kept", "state").await, "ready");
    script(&ctx, "CLEAR CACHE").await;
}

fn walk_files(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_errors_are_named_and_leave_nothing() {
    let _store = STORE.lock().await;
    let dir = tempfile::tempdir().unwrap();
    copy_stack(dir.path());
    let ctx = cache_session().await;
    script(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{}' OPTIONS ('layout' 'observations')",
            dir.path().display()
        ),
    )
    .await;
    script(
        &ctx,
        "CACHE TABLE reds AS SELECT row, col, red FROM pix WHERE row < 3",
    )
    .await;

    // Caching a name twice.
    let e = script_error(&ctx, "CACHE TABLE reds AS SELECT 1").await;
    assert!(e.contains("'reds'") && e.contains("exists"), "{e}");
    let e = script_error(&ctx, "CACHE TABLE reds").await;
    assert!(e.contains("'reds' is already cached"), "{e}");
    // Uncaching what is not a cache.
    let e = script_error(&ctx, "UNCACHE TABLE nope").await;
    assert!(e.contains("no table or view named 'nope'"), "{e}");
    script(&ctx, "UNCACHE TABLE IF EXISTS nope").await;
    let e = script_error(&ctx, "UNCACHE TABLE pix").await;
    assert!(e.contains("'pix' is not cached"), "{e}");
    // A bad option names the option and the value, and registers nothing.
    let e = script_error(
        &ctx,
        "CACHE TABLE other OPTIONS ('storage' 'ram') AS SELECT 1",
    )
    .await;
    assert!(e.contains("'storage'") && e.contains("'ram'"), "{e}");
    assert!(!ctx.table_exist("other").unwrap());
    // A query that fails while the cache fills: the error, and neither name nor partitions.
    let e = script_error(
        &ctx,
        "CACHE TABLE broken AS SELECT CAST(concat('x', CAST(row AS VARCHAR)) AS BIGINT) AS v FROM pix",
    )
    .await;
    assert!(
        e.contains("cannot cache 'broken'") && e.contains("Cast"),
        "{e}"
    );
    assert!(!ctx.table_exist("broken").unwrap());
    let caches = pretty(&script(&ctx, "SHOW CACHES").await[0].batches);
    assert!(!caches.contains("broken"), "{caches}");

    // A source file changed: the read fails naming the cache and the file; REFRESH recomputes.
    let changed = tifs(dir.path())
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("SRB3.tif"))
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&changed)
        .unwrap();
    std::io::Write::write_all(&mut file, b"\0").unwrap();
    drop(file);
    let e = execution_error(&ctx, "SELECT sum(red) FROM reds").await;
    let name = changed.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        e.contains("cache 'reds' is stale") && e.contains(&name),
        "{e}"
    );
    script(&ctx, "REFRESH TABLE reds").await;
    let (_, work) = run_measured(&ctx, "SELECT sum(red) FROM reds").await;
    assert_eq!((work.files_opened, work.cache_hits), (0, 1), "{work:?}");

    // With 'on_change' 'refresh', a changed source is recomputed instead.
    script(
        &ctx,
        "CACHE TABLE fresh OPTIONS ('on_change' 'refresh') AS SELECT row, red FROM pix WHERE row < 3",
    )
    .await;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&changed)
        .unwrap();
    std::io::Write::write_all(&mut file, b"\0").unwrap();
    drop(file);
    let (_, work) = run_measured(&ctx, "SELECT sum(red) FROM fresh").await;
    assert!(work.computed > 0 && work.cache_hits == 0, "{work:?}");
    script(&ctx, "CLEAR CACHE").await;
}

/// The sum of every `name=N` of the raster and cache scans in Ballista's rendered metrics
/// (other scans, such as CSV, count their own `files_opened`).
fn metric_sum(plans: &[String], name: &str) -> usize {
    let needle = format!("{name}=");
    let mut sum = 0;
    let lines = plans.iter().flat_map(|p| p.lines()).filter(|l| {
        let l = l.trim_start();
        l.starts_with("CacheScanExec") || l.starts_with("RasterScanExec")
    });
    for line in lines {
        for (i, _) in line.match_indices(&needle) {
            let digits: String = line[i + needle.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            sum += digits.parse::<usize>().unwrap_or(0);
        }
    }
    sum
}

/// The stage plans, with metrics, of the jobs the scheduler ran since `before` (job ids).
fn new_jobs_metrics(api: &SchedulerApi, before: &mut HashSet<String>) -> Vec<String> {
    let mut plans = Vec::new();
    for job in api.jobs().unwrap() {
        if before.insert(job.job_id.clone()) {
            plans.extend(api.stage_metrics(&job.job_id).unwrap());
        }
    }
    plans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_segments_live_on_the_executors_and_survive_losing_one() {
    let cluster = Cluster::start_with(
        2,
        2,
        &[
            "--executor-timeout-seconds",
            "6",
            "--expire-dead-executor-interval-seconds",
            "1",
        ],
        &["--executor-heartbeat-interval-seconds", "1"],
    );
    let api = SchedulerApi::new("127.0.0.1", cluster.port);
    let remote = session_for(&cluster.master(), SessionConfig::new())
        .await
        .unwrap();
    let local = stack_session().await;
    let location = stack().display();
    // Six 5 px chips, one a partition: six cached partitions over two executors.
    let tables = format!(
        "CREATE EXTERNAL TABLE pix STORED AS RASTER LOCATION '{location}'
           OPTIONS ('layout' 'pixels', 'chip_size' '5', 'chips_per_partition' '1');
         CREATE EXTERNAL TABLE truth STORED AS CSV LOCATION '{location}/truth.csv'
           OPTIONS ('format.has_header' 'true')"
    );
    script(&remote, &tables).await;
    let lineage = format!("SELECT row, col, {CCDC} AS c FROM pix WHERE row < 5");
    script(&local, &format!("CREATE VIEW plain AS {lineage}")).await;
    let mut seen: HashSet<String> = HashSet::new();
    new_jobs_metrics(&api, &mut seen);

    script(&remote, &format!("CACHE TABLE segs AS {lineage}")).await;
    let fill = new_jobs_metrics(&api, &mut seen);
    assert!(metric_sum(&fill, "files_opened") > 0, "{fill:?}");
    assert_eq!(metric_sum(&fill, "partitions_computed"), 6, "{fill:?}");
    assert_eq!(show(&remote, "segs", "state").await, "ready");
    assert_eq!(show(&remote, "segs", "partitions").await, "6/6");
    let locations = show(&remote, "segs", "locations").await;

    // Three queries read the executors' partitions: no raster file opened, local answers.
    for sql in segment_queries() {
        let cached = query(&remote, &sql.replace("{segs}", "segs")).await;
        let plans = new_jobs_metrics(&api, &mut seen);
        assert_eq!(
            pretty(&cached),
            pretty(&query(&local, &sql.replace("{segs}", "plain")).await),
            "{sql}"
        );
        assert_eq!(metric_sum(&plans, "files_opened"), 0, "{sql}: {plans:?}");
        assert_eq!(metric_sum(&plans, "windows_read"), 0, "{sql}: {plans:?}");
        assert_eq!(
            metric_sum(&plans, "cache_hits") + metric_sum(&plans, "partitions_fetched"),
            6,
            "{sql}: {plans:?}"
        );
    }

    // SIGKILL an executor holding partitions; once the scheduler has dropped it, the cache
    // reads the same, its lost partitions recomputed on the survivor and counted.
    let executors = api.executors().unwrap();
    let holder = executors
        .iter()
        .find(|e| locations.contains(&format!("{}:", e.id)))
        .unwrap_or_else(|| panic!("no executor of {executors:?} holds {locations}"));
    let held = locations
        .split("; ")
        .find(|l| l.starts_with(&holder.id))
        .map_or(0, |l| l.split(',').count());
    cluster.kill(|m| m.role.starts_with("executor") && m.port == holder.port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while registered_executors(cluster.port).ok() != Some(1) {
        assert!(
            Instant::now() < deadline,
            "the scheduler kept the dead executor"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let sql = segment_queries()[0];
    let after = query(&remote, &sql.replace("{segs}", "segs")).await;
    let plans = new_jobs_metrics(&api, &mut seen);
    assert_eq!(
        pretty(&after),
        pretty(&query(&local, &sql.replace("{segs}", "plain")).await)
    );
    assert_eq!(
        metric_sum(&plans, "partitions_recomputed"),
        held,
        "{plans:?}"
    );
    assert_eq!(show(&remote, "segs", "recomputed").await, held.to_string());
    assert_eq!(show(&remote, "segs", "partitions").await, "6/6");
    assert!(!show(&remote, "segs", "locations")
        .await
        .contains(&holder.id));

    // Uncaching drops the partitions on the executors.
    let dropped = script(&remote, "UNCACHE TABLE segs").await;
    assert!(
        pretty(&dropped[0].batches).contains("| 6 "),
        "{}",
        pretty(&dropped[0].batches)
    );
    assert_eq!(
        script(&remote, "SHOW CACHES").await[0].batches[0].num_rows(),
        0
    );
}
