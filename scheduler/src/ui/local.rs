//! The web UI of a local session (`ardent sql --ui`): its statements as jobs, with their plans
//! and live metrics and a cancel button, as Spark's driver UI shows a local application. Embedded
//! DataFusion runs a statement's plan whole, in this process, so a job has one stage and no
//! tasks; the plan's metrics (the raster scans' files opened, windows read, chips) fill in as it
//! runs. Served on loopback only, for as long as the session runs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ardent_engine::session::run_script;
//! use ardent_engine::statements::StatementLog;
//! use ardent_scheduler::ui::Ui;
//! use datafusion::prelude::{SessionConfig, SessionContext};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let log = StatementLog::default();
//! let ctx = SessionContext::new_with_config(
//!     SessionConfig::new().with_extension(Arc::new(log.clone())),
//! );
//! let ui = Ui::bind_local(None, log).await?.expect("a free port from 4040");
//! eprintln!("web UI on http://{}", ui.address());
//! tokio::spawn(ui.serve());
//! run_script(&ctx, "SELECT 1").await?;
//! # Ok(())
//! # }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ardent_engine::statements::{Statement, StatementLog, StatementState};
use async_trait::async_trait;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::{displayable, ExecutionPlanProperties};

use super::jobs::{self, JobSource};
use super::model::{JobDetail, JobRow, JobState, StageView};
use super::pages::Site;
use super::{common_routes, listen, Ui, UiError};

/// A local session's statements, as jobs.
pub struct LocalJobs {
    log: StatementLog,
}

impl LocalJobs {
    fn row(s: &Statement) -> JobRow {
        let (state, error) = match &s.state {
            StatementState::Running => (JobState::Running, None),
            StatementState::Completed => (JobState::Completed, None),
            StatementState::Failed(e) => (JobState::Failed, Some(e.clone())),
        };
        let partitions = s
            .plan
            .as_ref()
            .map_or(0, |p| p.output_partitioning().partition_count());
        let done = state == JobState::Completed;
        let end = s.ended_ms.unwrap_or_else(ardent_engine::now_ms);
        JobRow {
            id: s.id.to_string(),
            name: s.sql.clone(),
            // The statements are this process's own.
            user: None,
            state,
            submitted_ms: s.started_ms,
            duration_ms: end.saturating_sub(s.started_ms),
            stages_done: usize::from(done),
            stages: 1,
            partitions_done: if done { partitions } else { 0 },
            partitions,
            error,
        }
    }

    fn detail(s: &Statement) -> JobDetail {
        let job = Self::row(s);
        let (with_metrics, plain) = match &s.plan {
            Some(plan) => (
                DisplayableExecutionPlan::with_metrics(plan.as_ref())
                    .indent(true)
                    .to_string(),
                displayable(plan.as_ref()).indent(true).to_string(),
            ),
            None => {
                let none = if job.state.is_active() {
                    "(not planned yet)"
                } else {
                    "(a statement ardent runs itself, the cache's or a map's: no plan of its own)"
                };
                (none.to_string(), none.to_string())
            }
        };
        let stage = StageView {
            id: 0,
            state: match job.state {
                JobState::Completed => "Successful",
                JobState::Failed => "Failed",
                JobState::Queued | JobState::Running => "Running",
            }
            .to_string(),
            reads: Vec::new(),
            partitions: job.partitions,
            partitions_done: job.partitions_done,
            tasks: Vec::new(),
            plan: with_metrics,
            error: None,
        };
        JobDetail {
            job,
            stages: vec![stage],
            logical_plan: None,
            physical_plan: plain,
            failed_on: Vec::new(),
        }
    }

    fn id(id: &str) -> Result<u64, String> {
        id.parse().map_err(|_| format!("no job {id}"))
    }
}

#[async_trait]
impl JobSource for LocalJobs {
    async fn jobs(&self) -> Result<Vec<JobRow>, String> {
        Ok(self.log.statements().iter().map(Self::row).collect())
    }

    async fn job(&self, id: &str) -> Option<JobDetail> {
        let statement = self.log.statement(Self::id(id).ok()?)?;
        Some(Self::detail(&statement))
    }

    async fn cancel(&self, id: &str) -> Result<bool, String> {
        let id = Self::id(id)?;
        if self.log.statement(id).is_none() {
            return Err(format!("no job {id}"));
        }
        let cancelled = self.log.cancel(id);
        if cancelled {
            tracing::info!(statement = id, "statement cancelled from the web UI");
        }
        Ok(cancelled)
    }
}

impl Ui {
    /// The UI of a local session, on loopback: on `port`, or with none the first free port
    /// from 4040; `None` for port 0, or when those ports are all taken.
    pub async fn bind_local(port: Option<u16>, log: StatementLog) -> Result<Option<Ui>, UiError> {
        let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let Some(listener) = listen(host, port).await? else {
            return Ok(None);
        };
        let address = listener.local_addr().map_err(|source| UiError::Bind {
            address: SocketAddr::new(host, 0),
            source,
        })?;
        let router = jobs::routes(Arc::new(LocalJobs { log }), Site::Local).merge(common_routes());
        Ok(Some(Ui {
            address,
            listener,
            router,
        }))
    }
}
