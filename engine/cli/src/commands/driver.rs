//! Spark's client mode for `mesos://` masters: the command's own process runs a scheduler that
//! places executors through Mesos, the command runs on it, and when the command ends the
//! executors are killed and the framework torn down.

use std::future::Future;
use std::time::{Duration, Instant};

use ardent_engine::distributed::parse_flags_from;
use ardent_engine::session::Master;
use ardent_scheduler::server::{serve, SchedulerOptions};

/// Where the scheduler's settings come from in client mode (as for `ardent-scheduler`).
const SETTINGS_PREFIX: &str = "ARDENT_SCHEDULER_";

/// Runs `command` with the master it should use: the given one, or, for a Mesos master, the
/// `df://` address of a scheduler this process runs for the command's duration.
pub async fn on_master<F, Fut>(master: Option<&str>, command: F) -> anyhow::Result<()>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let Ok(Master::Mesos { masters }) = Master::resolve(master) else {
        return command(master.map(str::to_string)).await;
    };
    let mut options: SchedulerOptions = parse_flags_from(SETTINGS_PREFIX, ["ardent-scheduler"])
        .map_err(|e| {
            anyhow::anyhow!("the scheduler's settings ({SETTINGS_PREFIX}* variables): {e}")
        })?;
    options.mesos.mesos_master = Some(masters.clone());
    if std::env::var_os(format!("{SETTINGS_PREFIX}BIND_PORT")).is_none() {
        options.ballista.bind_port = free_port()?;
    }
    if std::env::var_os(format!("{SETTINGS_PREFIX}EXTERNAL_HOST")).is_none() {
        // Executors on the agents connect back to this host.
        options.ballista.external_host = host_name();
    }
    let port = options.ballista.bind_port;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut scheduler = tokio::spawn(serve(options, async {
        let _ = stopped.await;
    }));
    let address = format!("df://127.0.0.1:{port}");
    tracing::info!(%masters, scheduler = %address, "running a scheduler for the Mesos master");
    let result = tokio::select! {
        ready = listening(port, &mut scheduler) => match ready {
            Ok(()) => tokio::select! {
                result = command(Some(address)) => result,
                ended = &mut scheduler => Err(scheduler_ended(ended)),
            },
            Err(e) => return Err(e),
        },
    };
    let _ = stop.send(());
    if !scheduler.is_finished() || result.is_ok() {
        if let Ok(Err(e)) = scheduler.await {
            if result.is_ok() {
                return Err(anyhow::anyhow!("{e}"));
            }
            tracing::error!(error = %e, "the scheduler stopped with an error");
        }
    }
    result
}

/// Waits until the scheduler of this process accepts connections, or fails with its error.
async fn listening(
    port: u16,
    scheduler: &mut tokio::task::JoinHandle<Result<(), ardent_scheduler::server::ServeError>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if scheduler.is_finished() {
            return Err(scheduler_ended(scheduler.await));
        }
        if Instant::now() > deadline {
            anyhow::bail!("the scheduler for the Mesos master did not listen on port {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn scheduler_ended(
    ended: Result<Result<(), ardent_scheduler::server::ServeError>, tokio::task::JoinError>,
) -> anyhow::Error {
    match ended {
        Ok(Err(e)) => anyhow::anyhow!("{e}"),
        Ok(Ok(())) => anyhow::anyhow!("the scheduler for the Mesos master stopped"),
        Err(e) => anyhow::anyhow!("the scheduler for the Mesos master failed: {e}"),
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("0.0.0.0:0")
        .map_err(|e| anyhow::anyhow!("no free port for the scheduler: {e}"))?;
    Ok(listener.local_addr()?.port())
}

/// This machine's name, as the agents' executors should reach it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
