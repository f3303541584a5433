//! ardent's side of a benchmark: sessions for each master, the one-host cluster the harness
//! starts when no cluster is given, and query results turned into text rows for comparison.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ardent_engine::cluster::{self, ClusterSpec};
use ardent_engine::session::{session_for, Master};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{SessionConfig, SessionContext};

/// ardent under one master, ready to run SQL.
pub struct Engine {
    /// `ardent local` or `ardent cluster`.
    pub label: String,
    pub master: Master,
    /// Cores its tasks run on (for the report).
    pub cores: usize,
    pub ctx: SessionContext,
}

impl Engine {
    pub async fn connect(label: &str, master: Master, cores: usize) -> crate::Result<Engine> {
        let ctx = session_for(&master, SessionConfig::new())
            .await
            .map_err(|e| format!("{label}: cannot open a session on {master}: {e}"))?;
        Ok(Engine {
            label: label.to_string(),
            master,
            cores,
            ctx,
        })
    }

    /// Runs one or more `;`-separated statements and returns the last one's batches.
    pub async fn sql(&self, sql: &str) -> crate::Result<Vec<RecordBatch>> {
        let results = ardent_engine::session::run_script(&self.ctx, sql)
            .await
            .map_err(|e| format!("{}: {e}\nin SQL: {}", self.label, sql.trim()))?;
        Ok(results
            .into_iter()
            .last()
            .map(|r| r.batches)
            .unwrap_or_default())
    }
}

/// A scheduler and executors started on this host for the benchmark, stopped when dropped.
pub struct OneHostCluster {
    dir: PathBuf,
    pub master: Master,
    pub cores: usize,
}

impl OneHostCluster {
    /// Starts `executors` executors of `vcores` task slots each, from the binaries beside this
    /// program (`cargo build --bins` builds them together).
    pub fn start(dir: &Path, executors: usize, vcores: usize) -> crate::Result<OneHostCluster> {
        let bin_dir = std::env::current_exe()
            .map_err(|e| format!("cannot locate ardent-bench: {e}"))?
            .parent()
            .map(Path::to_path_buf)
            .ok_or("ardent-bench has no folder")?;
        let _ = cluster::down(dir);
        let state = cluster::up(&ClusterSpec {
            bin_dir,
            dir: dir.to_path_buf(),
            executors,
            port: 0,
            vcores,
            timeout: Duration::from_secs(60),
            scheduler_flags: Vec::new(),
            executor_flags: Vec::new(),
            env: Vec::new(),
        })
        .map_err(|e| e.to_string())?;
        let master = state.master.parse::<Master>().map_err(|e| e.to_string())?;
        tracing::info!("one-host cluster up: {master}, {executors} executors x {vcores} slots");
        Ok(OneHostCluster {
            dir: dir.to_path_buf(),
            master,
            cores: executors * vcores,
        })
    }
}

impl Drop for OneHostCluster {
    fn drop(&mut self) {
        if let Err(e) = cluster::down(&self.dir) {
            tracing::warn!(
                "stopping the benchmark cluster in '{}': {e}",
                self.dir.display()
            );
        }
    }
}

/// Each row of `batches` as text cells (nulls empty), in order.
pub fn text_rows(batches: &[RecordBatch]) -> crate::Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for i in 0..batch.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(i).to_string()).collect());
        }
    }
    Ok(rows)
}
