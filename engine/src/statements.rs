//! The statements a local session ran and runs, for its web UI (`ardent sql --ui`), as Spark's
//! driver UI shows a local application's jobs: a [`StatementLog`] session extension, filled by
//! [`run_script`](crate::session::run_script), which also lets the UI cancel a running one.
//!
//! ```
//! use std::sync::Arc;
//! use ardent_engine::session::run_script;
//! use ardent_engine::statements::{StatementLog, StatementState};
//! use datafusion::prelude::{SessionConfig, SessionContext};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let log = StatementLog::default();
//! let config = SessionConfig::new().with_extension(Arc::new(log.clone()));
//! let ctx = SessionContext::new_with_config(config);
//! run_script(&ctx, "SELECT 1 AS one").await?;
//! let ran = log.statements();
//! assert_eq!(ran[0].sql, "SELECT 1 AS one");
//! assert!(matches!(ran[0].state, StatementState::Completed));
//! assert!(ran[0].plan.is_some());
//! # Ok::<(), datafusion::error::DataFusionError>(())
//! # }).unwrap();
//! ```

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use tokio::sync::Notify;

use crate::now_ms;

/// Statements kept: the oldest are forgotten beyond this many.
const KEPT: usize = 500;

/// Where a statement stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementState {
    Running,
    Completed,
    Failed(String),
}

/// One statement of the session.
#[derive(Clone, Debug)]
pub struct Statement {
    /// `1`, `2`, ... in the order they started.
    pub id: u64,
    pub sql: String,
    pub state: StatementState,
    /// Milliseconds since the Unix epoch.
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    /// Its physical plan, whose metrics fill in as it runs (none for the statements ardent
    /// runs itself: the cache's, maps).
    pub plan: Option<Arc<dyn ExecutionPlan>>,
}

#[derive(Debug)]
struct Entry {
    statement: Statement,
    cancel: Arc<Notify>,
}

/// The statements of a session. Clones share one log.
#[derive(Clone, Debug, Default)]
pub struct StatementLog {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl StatementLog {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        // Every change below completes before it could panic: a poisoned log is consistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The statements, newest first.
    pub fn statements(&self) -> Vec<Statement> {
        self.lock()
            .iter()
            .rev()
            .map(|e| e.statement.clone())
            .collect()
    }

    /// One statement by id.
    pub fn statement(&self, id: u64) -> Option<Statement> {
        self.lock()
            .iter()
            .find(|e| e.statement.id == id)
            .map(|e| e.statement.clone())
    }

    /// Asks a running statement to stop; whether it was running.
    pub fn cancel(&self, id: u64) -> bool {
        let entries = self.lock();
        match entries.iter().find(|e| e.statement.id == id) {
            Some(e) if e.statement.state == StatementState::Running => {
                e.cancel.notify_one();
                true
            }
            _ => false,
        }
    }

    fn start(&self, sql: &str) -> (u64, Arc<Notify>) {
        let mut entries = self.lock();
        let id = entries.last().map_or(1, |e| e.statement.id + 1);
        let cancel = Arc::new(Notify::new());
        entries.push(Entry {
            statement: Statement {
                id,
                sql: sql.to_string(),
                state: StatementState::Running,
                started_ms: now_ms(),
                ended_ms: None,
                plan: None,
            },
            cancel: Arc::clone(&cancel),
        });
        if entries.len() > KEPT {
            entries.remove(0);
        }
        (id, cancel)
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut Statement)) {
        if let Some(e) = self.lock().iter_mut().find(|e| e.statement.id == id) {
            change(&mut e.statement);
        }
    }
}

/// The plan of the statement being run, set by [`record_plan`].
#[derive(Clone, Copy)]
struct Current {
    id: u64,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs one statement of `ctx`'s session, logged when the session has a [`StatementLog`]:
/// cancelled from the log, it stops with an error saying so.
pub async fn logged<T>(
    ctx: &SessionContext,
    sql: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(log) = session_log(ctx) else {
        return work.await;
    };
    let (id, cancel) = log.start(sql);
    let outcome = CURRENT
        .scope(Current { id }, async {
            tokio::select! {
                outcome = work => outcome,
                () = cancel.notified() => Err(DataFusionError::Execution(format!(
                    "statement {id} was cancelled from the web UI"
                ))),
            }
        })
        .await;
    let state = match &outcome {
        Ok(_) => StatementState::Completed,
        Err(e) => StatementState::Failed(e.to_string()),
    };
    log.update(id, |s| {
        s.state = state;
        s.ended_ms = Some(now_ms());
    });
    outcome
}

/// Records the physical plan of the statement [`logged`] is running, if any.
pub fn record_plan(ctx: &SessionContext, plan: &Arc<dyn ExecutionPlan>) {
    let (Some(log), Ok(current)) = (session_log(ctx), CURRENT.try_with(|c| *c)) else {
        return;
    };
    log.update(current.id, |s| s.plan = Some(Arc::clone(plan)));
}

/// The session's log, if it has one (read in place: `ctx.state()` would copy the whole state).
fn session_log(ctx: &SessionContext) -> Option<Arc<StatementLog>> {
    ctx.state_ref()
        .read()
        .config()
        .get_extension::<StatementLog>()
}
