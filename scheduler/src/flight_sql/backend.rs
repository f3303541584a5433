//! Jobs for Flight SQL sessions: submitted to the scheduler, followed to their end, and cancelled
//! on the cluster when the client stops waiting (a Jupyter interrupt, a dropped connection). gRPC
//! drops a call's handler when its client cancels or goes away; dropping [`ArdentBackend::execute`]
//! while its job runs cancels the job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use ballista_core::error::{BallistaError, Result};
use ballista_core::serde::protobuf::{job_status, JobStatus, SuccessfulJob};
use ballista_core::JobId;
use ballista_flight_sql::{QueryBackend, QueryResult};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use super::{Scheduler, ANONYMOUS_USER};
use crate::recent::RecentJobs;

/// Room for job statuses in flight; they are read as they come.
const STATUS_BUFFER: usize = 16;

/// The Flight SQL frontend's view of the scheduler, and the keeper of its sessions' contexts.
pub struct ArdentBackend {
    scheduler: Scheduler,
    contexts: Mutex<HashMap<String, Arc<SessionContext>>>,
    /// The session of each job running for one, by job id.
    running: Arc<Mutex<HashMap<String, String>>>,
    /// The user who submitted each job, kept after it ends.
    owners: RecentJobs<String>,
}

/// A job a Flight SQL call submits: its user, and its name for the scheduler's job list.
#[derive(Clone, Debug)]
pub struct CallJob {
    pub user: String,
    pub name: String,
}

impl CallJob {
    /// `user`'s job (the anonymous user's on a scheduler without users) of `sql`, named
    /// `"<user>: <sql>"`.
    pub fn new(user: Option<&str>, sql: &str) -> Self {
        let user = user.unwrap_or(ANONYMOUS_USER).to_string();
        CallJob {
            name: ardent_engine::distributed::job_name::job_name(&user, sql),
            user,
        }
    }
}

impl ArdentBackend {
    pub fn new(scheduler: Scheduler) -> Self {
        ArdentBackend {
            scheduler,
            contexts: Mutex::default(),
            running: Arc::default(),
            owners: RecentJobs::default(),
        }
    }

    /// The user who submitted `job_id`, if it is a recent Flight SQL job.
    pub fn owner(&self, job_id: &str) -> Option<String> {
        self.owners.get(job_id, |user| Some(user.clone()))
    }

    /// The jobs running now for the frontend's session `session_id`.
    pub fn running_jobs(&self, session_id: &str) -> Vec<String> {
        // Jobs are listed under their context's own id, which is not the frontend's.
        let Some(ctx) = self.context(session_id) else {
            return Vec::new();
        };
        let context_id = ctx.session_id();
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mut jobs: Vec<String> = running
            .iter()
            .filter(|(_, session)| **session == context_id)
            .map(|(job, _)| job.clone())
            .collect();
        jobs.sort();
        jobs
    }

    /// The context of an open session: the one the frontend plans its statements in.
    pub fn context(&self, session_id: &str) -> Option<Arc<SessionContext>> {
        self.contexts().get(session_id).map(Arc::clone)
    }

    fn contexts(&self) -> MutexGuard<'_, HashMap<String, Arc<SessionContext>>> {
        // The map stays consistent whatever panicked while it was held.
        self.contexts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl QueryBackend for ArdentBackend {
    async fn session(&self, session_id: &str) -> Result<Arc<SessionContext>> {
        // Ballista's own binding builds a new context from the scheduler's session builder at
        // every call. Two requests opening one session at once both call here, and the
        // frontend keeps the first context it is given: so does this map, and both answer
        // with it, or the gate and the frontend would each see their own tables.
        let built = QueryBackend::session(&self.scheduler, session_id).await?;
        let ctx = Arc::clone(
            self.contexts()
                .entry(session_id.to_string())
                .or_insert(built),
        );
        super::gate::note_session(session_id);
        Ok(ctx)
    }

    async fn close_session(&self, session_id: &str) -> Result<()> {
        self.contexts().remove(session_id);
        QueryBackend::close_session(&self.scheduler, session_id).await
    }

    async fn execute(
        &self,
        job_name: &str,
        ctx: Arc<SessionContext>,
        plan: LogicalPlan,
    ) -> Result<QueryResult> {
        // The gate names the job of each call it passes to Ballista's frontend.
        let job = super::gate::job_of_call().unwrap_or_else(|| CallJob {
            user: ANONYMOUS_USER.to_string(),
            name: job_name.to_string(),
        });
        self.run(&job, ctx, plan).await
    }
}

impl ArdentBackend {
    /// Submits `job` and follows it to its end; dropping the future cancels the job.
    pub async fn run(
        &self,
        job: &CallJob,
        ctx: Arc<SessionContext>,
        plan: LogicalPlan,
    ) -> Result<QueryResult> {
        // Subscribe before submitting, so that no status is missed.
        let (subscriber, mut statuses) = tokio::sync::mpsc::channel::<JobStatus>(STATUS_BUFFER);
        let job_id = self
            .scheduler
            .submit_job(&job.name, Arc::clone(&ctx), &plan, Some(subscriber))
            .await?;
        self.owners
            .update(job_id.as_str(), |owner| owner.clone_from(&job.user));
        tracing::info!(%job_id, session = ctx.session_id(), job_name = job.name, user = job.user, "Flight SQL job submitted");
        let _listed = Listed::new(&self.running, job_id.to_string(), ctx.session_id());
        let mut running = CancelOnDrop {
            scheduler: self.scheduler.clone(),
            job_id: Some(job_id.clone()),
        };
        while let Some(status) = statuses.recv().await {
            match status.status {
                Some(job_status::Status::Successful(SuccessfulJob {
                    partition_location, ..
                })) => {
                    running.job_id = None;
                    // The schema the result files carry is the physical plan's (nullability
                    // included), which clients check the data against.
                    let schema = ctx.state().create_physical_plan(&plan).await?.schema();
                    return Ok(QueryResult {
                        job_id: job_id.to_string(),
                        schema,
                        partitions: partition_location,
                    });
                }
                Some(job_status::Status::Failed(failed)) => {
                    running.job_id = None;
                    return Err(BallistaError::General(format!(
                        "job {job_id} failed: {}",
                        failed.error
                    )));
                }
                // Queued and running are progress, not outcomes.
                _ => continue,
            }
        }
        running.job_id = None;
        Err(BallistaError::General(format!(
            "job {job_id} ended without reporting a final status"
        )))
    }
}

/// A job listed as running for its session until its waiter ends, however it ends.
struct Listed {
    running: Arc<Mutex<HashMap<String, String>>>,
    job_id: String,
}

impl Listed {
    fn new(running: &Arc<Mutex<HashMap<String, String>>>, job_id: String, session: String) -> Self {
        let mut map = running.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(job_id.clone(), session);
        Listed {
            running: Arc::clone(running),
            job_id,
        }
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        let mut map = self.running.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&self.job_id);
    }
}

/// Cancels a job that is still running when its waiter is dropped.
struct CancelOnDrop {
    scheduler: Scheduler,
    job_id: Option<JobId>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(job_id) = self.job_id.take() else {
            return;
        };
        let scheduler = self.scheduler.clone();
        tracing::info!(%job_id, "Flight SQL client went away: cancelling its job");
        // Dropped from a handler on the runtime, so there is a runtime to cancel on.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = scheduler.cancel_job(job_id.clone()).await {
                    tracing::warn!(%job_id, "cannot cancel the job: {e}");
                }
            });
        }
    }
}
