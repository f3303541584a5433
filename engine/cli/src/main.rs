//! `ardent`: the command-line client. A thin shell over `ardent_engine`: flag parsing, progress
//! bars and pictures live here, so the servers and the library do not compile them.

// clap turns the doc comments below into --help text, where `local[N]` is literal, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

mod commands;
mod plot;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ardent: SQL and per-pixel analysis over Landsat ARD tile stacks.
#[derive(Parser, Debug)]
#[command(name = "ardent", version)]
struct Cli {
    /// Where queries run: local, local[N] (embedded, the default) or df://host:port (a cluster).
    #[arg(long, global = true, env = "ARDENT_MASTER")]
    master: Option<String>,

    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a synthetic Landsat ARD stack with known changes.
    Synth(commands::synth::Args),
    /// Run SQL statements over raster stacks and other tables.
    Sql(commands::sql::Args),
    /// Write a per-pixel column of a query result as a GeoTIFF map and PNG preview.
    Map(commands::map::Args),
    /// Write LCMAP's change products (SCTIME, SCMAG, SCLAST, SCSTAB, SCMQA) of a tile for
    /// some years, and with --model its cover products (LCPRI, LCSEC, LCPCONF, LCSCONF,
    /// LCACHG), as cloud optimized GeoTIFFs.
    Products(commands::products::Args),
    /// Write the table a land-cover classifier trains on: labels from an NLCD raster and the
    /// features of each labelled pixel's CCDC segment at a date.
    Training(commands::training::Args),
    /// Start, stop or show a scheduler and executors on this host.
    Cluster(commands::cluster::Args),
    /// Run CCDC change detection on one pixel's CSV and print pyccd-shaped JSON.
    Ccdc(commands::ccdc::Args),
    /// Print a users-file line (`user:<argon2id hash>`) for the scheduler's --users, reading the
    /// password from stdin.
    Passwd(commands::passwd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let master = cli.master.as_deref();
    // Only SQL runs on the async runtime; the other commands are plain blocking work.
    let result = match cli.command {
        Command::Synth(args) => commands::synth::run(args),
        Command::Cluster(args) => commands::cluster::run(args),
        Command::Ccdc(args) => commands::ccdc::run(args),
        Command::Passwd(args) => commands::passwd::run(args),
        Command::Sql(args) => on_runtime(commands::driver::on_master(master, |m| async move {
            commands::sql::run(m.as_deref(), args).await
        })),
        Command::Map(args) => on_runtime(commands::driver::on_master(master, |m| async move {
            commands::map::run(m.as_deref(), args).await
        })),
        Command::Products(args) => {
            on_runtime(commands::driver::on_master(master, |m| async move {
                commands::products::run(m.as_deref(), args).await
            }))
        }
        Command::Training(args) => {
            on_runtime(commands::driver::on_master(master, |m| async move {
                commands::training::run(m.as_deref(), args).await
            }))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The errors ardent raises name their causes in their messages.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work` on a multi-threaded tokio runtime.
fn on_runtime(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(work)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
