//! The subcommands. Each parses its flags and calls into `ardent_engine`.

pub mod ccdc;
pub mod cluster;
pub mod driver;
pub mod map;
pub mod passwd;
pub mod products;
pub mod sql;
pub mod synth;
pub mod training;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use ardent_engine::distributed::job_name::JobNaming;
use ardent_engine::distributed::rest::SchedulerApi;
use ardent_engine::progress::ScanProgress;
use ardent_engine::session::{session_for, Master};
use datafusion::prelude::{SessionConfig, SessionContext};
use indicatif::{ProgressBar, ProgressStyle};

/// SQL given inline or with `-f`.
#[derive(clap::Args, Debug)]
pub struct Script {
    /// SQL statements, separated by `;`.
    pub sql: Option<String>,
    /// Read the SQL statements from a file.
    #[arg(short = 'f', long = "file", conflicts_with = "sql")]
    pub file: Option<std::path::PathBuf>,
}

impl Script {
    pub fn text(&self) -> anyhow::Result<String> {
        match (&self.sql, &self.file) {
            (Some(sql), None) => Ok(sql.clone()),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read '{}': {e}", path.display())),
            _ => Err(anyhow::anyhow!("give SQL statements or -f FILE")),
        }
    }
}

/// What a progress bar follows.
pub enum Progress {
    /// Chips read by the scans of this process (local mode).
    Chips(Arc<ScanProgress>),
    /// Stages and tasks of this client's jobs, from the scheduler's REST API (cluster mode).
    Jobs {
        host: String,
        port: u16,
        /// What the names of this client's jobs start with.
        job_prefix: String,
    },
}

/// A session for the master, with what its progress bar follows.
pub async fn session(master: Option<&str>) -> anyhow::Result<(SessionContext, Progress)> {
    let master = Master::resolve(master).map_err(anyhow::Error::msg)?;
    let chips = Arc::new(ScanProgress::default());
    let mut config = SessionConfig::new().with_extension(Arc::clone(&chips));
    let progress = match &master {
        // A Mesos master reaches here only from outside the driver, and fails in session_for.
        Master::Local { .. } | Master::Mesos { .. } => Progress::Chips(chips),
        Master::Cluster { host, port } => {
            // A tag of this client's own, to pick its jobs out of the scheduler's list; each
            // job is named `<tag>: <its SQL>`.
            let prefix = format!("ardent-{}-{}", std::process::id(), ardent_engine::now_ms());
            config = config.with_extension(Arc::new(JobNaming {
                prefix: prefix.clone(),
            }));
            Progress::Jobs {
                host: host.clone(),
                port: *port,
                job_prefix: prefix,
            }
        }
    };
    let ctx = session_for(&master, config)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok((ctx, progress))
}

/// Runs `work` while a progress bar is drawn on stderr, if stderr is a terminal: chips read in
/// local mode, a job's tasks and stages on a cluster. On a cluster, each job's page in the
/// scheduler's web UI is printed as the job starts (terminal or not). `quiet` does neither.
pub async fn with_progress<T>(
    progress: &Progress,
    quiet: bool,
    work: impl std::future::Future<Output = T>,
) -> T {
    let terminal = std::io::stderr().is_terminal();
    if quiet || (!terminal && matches!(progress, Progress::Chips(_))) {
        return work.await;
    }
    let unit = match progress {
        Progress::Chips(_) => "chips",
        Progress::Jobs { .. } => "tasks",
    };
    let bar = if terminal {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} [{{elapsed_precise}}] {{bar:40}} {{pos}}/{{len}} {unit} {{msg}}"
            ))
            .expect("valid progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let say = |line: String| {
        if terminal {
            bar.println(line);
        } else {
            eprintln!("{line}");
        }
    };
    let poll = async {
        // The UI is looked for once, when the first job shows.
        let mut ui: Option<Option<String>> = None;
        let mut announced = String::new();
        loop {
            match progress {
                Progress::Chips(chips) => {
                    let (done, total) = chips.snapshot();
                    bar.set_length(total);
                    bar.set_position(done);
                }
                Progress::Jobs {
                    host,
                    port,
                    job_prefix,
                } => {
                    let api = SchedulerApi::new(host, *port);
                    let (prefix, find_ui) = (job_prefix.clone(), ui.is_none());
                    let polled = tokio::task::spawn_blocking(move || {
                        let job = api.job_progress(&prefix);
                        let found = match &job {
                            Ok(Some(_)) if find_ui => Some(api.ui_url()),
                            _ => None,
                        };
                        (job, found)
                    })
                    .await;
                    match polled {
                        Ok((Ok(Some(job)), found)) => {
                            if let Some(found) = found {
                                ui = Some(found);
                            }
                            if job.job_id != announced {
                                if let Some(Some(ui)) = &ui {
                                    say(format!("job {}: {ui}/job/{}", job.job_id, job.job_id));
                                }
                                announced.clone_from(&job.job_id);
                            }
                            bar.set_length(job.tasks as u64);
                            bar.set_position(job.tasks_done as u64);
                            bar.set_message(format!(
                                "job {}: {}/{} stages",
                                job.job_id, job.stages_done, job.stages
                            ));
                        }
                        Ok((Ok(None), _)) => bar.set_message("waiting for the job to be scheduled"),
                        Ok((Err(e), _)) => bar.set_message(e.to_string()),
                        Err(e) => bar.set_message(format!("progress poll failed: {e}")),
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let result = tokio::select! {
        result = work => result,
        _ = poll => unreachable!("the poll loop never ends"),
    };
    bar.finish_and_clear();
    result
}
