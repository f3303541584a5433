//! The subcommands. Each parses its flags and calls into `ardent_engine`.

pub mod cluster;
pub mod map;
pub mod sql;
pub mod synth;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

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
    pub fn text(&self) -> Result<String, String> {
        match (&self.sql, &self.file) {
            (Some(sql), None) => Ok(sql.clone()),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read '{}': {e}", path.display())),
            _ => Err("give SQL statements or -f FILE".into()),
        }
    }
}

/// A session for the master, with scan progress counters installed.
pub async fn session(master: Option<&str>) -> Result<(SessionContext, Arc<ScanProgress>), String> {
    let master = Master::resolve(master)?;
    let progress = Arc::new(ScanProgress::default());
    let config = SessionConfig::new().with_extension(Arc::clone(&progress));
    let ctx = session_for(&master, config)
        .await
        .map_err(|e| e.to_string())?;
    Ok((ctx, progress))
}

/// Runs `work` while a progress bar of chips read is drawn on stderr, if stderr is a terminal.
pub async fn with_progress<T>(
    progress: &ScanProgress,
    quiet: bool,
    work: impl std::future::Future<Output = T>,
) -> T {
    if quiet || !std::io::stderr().is_terminal() {
        return work.await;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} chips {msg}",
        )
        .expect("valid progress template"),
    );
    let poll = async {
        loop {
            let (done, total) = progress.snapshot();
            bar.set_length(total);
            bar.set_position(done);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let result = tokio::select! {
        result = work => result,
        _ = poll => unreachable!("the poll loop never ends"),
    };
    bar.finish_and_clear();
    result
}
