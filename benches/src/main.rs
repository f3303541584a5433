//! `ardent-bench`: runs the workloads, writes the report, prints its tables.

use std::path::PathBuf;
use std::process::ExitCode;

use ardent_benches::ardent::{Engine, OneHostCluster};
use ardent_benches::baseline::Python;
use ardent_benches::machine::Machine;
use ardent_benches::report::Report;
use ardent_benches::workloads::{self, Bench, Sizes};
use ardent_engine::session::Master;
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    Ccdc,
    Ndvi,
    Tpch,
    Cache,
}

/// ardent against pyccd, rasterio + numpy and Apache Spark on the same inputs and cores:
/// CCDC per pixel, a per-pixel NDVI composite, and TPC-H. Answers are cross-checked; the report
/// (JSON, markdown, PNG charts) goes to --out.
#[derive(Parser, Debug)]
#[command(name = "ardent-bench", version)]
struct Args {
    /// Small inputs and one timed run: minutes, to check the harness works (timings not representative).
    #[arg(long)]
    quick: bool,
    /// An ardent cluster to measure (df://host:port) instead of starting one on this host. Its
    /// executors must read --data under the same path.
    #[arg(long, env = "ARDENT_MASTER")]
    master: Option<String>,
    /// Measure ardent in local mode only.
    #[arg(long, conflicts_with = "master")]
    no_cluster: bool,
    /// Executors of the one-host cluster (the machine's cores are shared among them).
    #[arg(long, default_value_t = 2)]
    executors: usize,
    /// Timed runs per engine, after one warm-up (default 3, 1 with --quick).
    #[arg(long)]
    runs: Option<usize>,
    /// Workloads to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Workload::Ccdc, Workload::Ndvi, Workload::Tpch, Workload::Cache])]
    workloads: Vec<Workload>,
    /// Results folder (default target/bench/full or target/bench/quick).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Inputs, generated once and reused.
    #[arg(long, default_value = "target/bench/data")]
    data: PathBuf,
    /// Python of the venv with pyccd, pyspark, rasterio and tpchgen-cli.
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// Side of the synthetic stack in pixels.
    #[arg(long)]
    stack_size: Option<usize>,
    /// Side of the square CCDC runs on, in pixels.
    #[arg(long)]
    ccdc_size: Option<usize>,
    /// TPC-H scale factor.
    #[arg(long)]
    scale: Option<f64>,
    /// More logging (-v debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let level = if args.verbose > 0 {
        "ardent_benches=debug,ardent_engine=debug"
    } else {
        "ardent_benches=info,ardent_engine=warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: engines gave different answers (see the report)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> ardent_benches::Result<bool> {
    let mut sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    sizes.stack = args.stack_size.unwrap_or(sizes.stack);
    sizes.ccdc = args.ccdc_size.unwrap_or(sizes.ccdc).min(sizes.stack);
    sizes.ccdc_chip = sizes.ccdc_chip.min(sizes.ccdc).max(1);
    sizes.cache = sizes.cache.min(sizes.stack);
    sizes.tpch_scale = args.scale.unwrap_or(sizes.tpch_scale);
    let runs = args.runs.unwrap_or(if args.quick { 1 } else { 3 });
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let mode = if args.quick { "quick" } else { "full" };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("target/bench").join(mode));
    std::fs::create_dir_all(&args.data)
        .map_err(|e| format!("cannot create '{}': {e}", args.data.display()))?;
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = Python {
        exe: args.python.clone(),
        scripts: manifest.join("baselines"),
    };
    python.check(&["ccd", "pyspark", "rasterio", "pyarrow"])?;

    let machine = Machine::detect();
    let cores = machine.cores;
    let mut engines =
        vec![Engine::connect("ardent local", Master::Local { threads: None }, cores).await?];
    // Kept alive until the report is written; dropping it stops the cluster.
    let mut _cluster = None;
    if let Some(url) = &args.master {
        let master: Master = url
            .parse()
            .map_err(|e: ardent_engine::error::MasterError| e.to_string())?;
        engines.push(Engine::connect("ardent cluster", master, cores).await?);
    } else if !args.no_cluster {
        let executors = args.executors.max(1);
        let cluster =
            OneHostCluster::start(&out.join("cluster"), executors, (cores / executors).max(1))?;
        engines
            .push(Engine::connect("ardent cluster", cluster.master.clone(), cluster.cores).await?);
        _cluster = Some(cluster);
    }
    let bench = Bench {
        out: out.clone(),
        data: args.data.canonicalize().map_err(|e| e.to_string())?,
        runs,
        sizes: sizes.clone(),
        cores,
        python,
        engines,
        queries: manifest.join("tpch"),
    };
    let mut results = Vec::new();
    for workload in &args.workloads {
        tracing::info!("workload {workload:?}");
        results.push(match workload {
            Workload::Ccdc => workloads::ccdc::run(&bench).await?,
            Workload::Ndvi => workloads::ndvi::run(&bench).await?,
            Workload::Tpch => workloads::tpch::run(&bench).await?,
            Workload::Cache => workloads::cache::run(&bench).await?,
        });
    }
    let report = Report {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        mode: mode.into(),
        runs,
        sizes,
        machine,
        workloads: results,
    };
    let markdown = report.write(&out)?;
    println!("{markdown}");
    eprintln!("report: {}", out.join("report.md").display());
    Ok(report.answers_agree())
}
