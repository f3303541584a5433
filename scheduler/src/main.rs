//! `ardent-scheduler`: the Ballista scheduler, built with ardent's extension codecs, UDFs and RASTER
//! table factory so that raster plans can be planned and split into stages. Every flag of Ballista's
//! own scheduler is accepted (`--bind-host`, `--bind-port`, `--external-host`, `--scheduler-policy`,
//! ...), and ardent's Flight SQL flags (`--flight-sql-port`, `--users`, `--tls-cert`, ...); see
//! `ardent-scheduler --help`. The work is in the `ardent_scheduler` library.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use ardent_engine::distributed::{parse_flags_with_env, run_to_exit_code};
use ardent_scheduler::server::{serve, SchedulerOptions};

fn main() -> ExitCode {
    let options: SchedulerOptions =
        parse_flags_with_env("ARDENT_SCHEDULER_").unwrap_or_else(|e| e.exit());
    let filter =
        std::env::var("RUST_LOG").unwrap_or_else(|_| options.ballista.log_level_setting.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    // Ballista's scheduler plans deep trees recursively: it runs with 32 MiB thread stacks.
    run_to_exit_code(
        tokio::runtime::Builder::new_multi_thread().thread_stack_size(32 * 1024 * 1024),
        serve(options, stop_signal()),
    )
}

/// SIGTERM (as Marathon, Docker and Kubernetes stop a service) or Ctrl-C: the scheduler stops,
/// and a Mesos framework first gives its executors back.
async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "SIGTERM cannot be caught");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping"),
    }
}
