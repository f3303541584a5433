//! A typed client of the scheduler's REST API (served on its gRPC port): jobs, their stages and
//! tasks, executors, metrics. One client for the CLI's progress bars, `ardent cluster`, the
//! benchmark harness and the tests.
//!
//! Blocking, through `ureq`: the API answers small JSON bodies on the cluster network, and
//! callers poll it from plain threads (cluster start-up) as well as from async code, which runs
//! it on a blocking thread. Every failure is a [`RestError`] naming the URL.
//!
//! ```no_run
//! use ardent_engine::distributed::rest::SchedulerApi;
//! let api = SchedulerApi::new("127.0.0.1", 50050);
//! for job in api.jobs()? {
//!     println!("{} {}", job.job_id, job.status);
//! }
//! # Ok::<(), ardent_engine::distributed::rest::RestError>(())
//! ```

use std::time::Duration;

use ballista_api_types::dto::{JobResponse, QueryStagesResponse, TaskStatus};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// How long a request may take before the scheduler counts as not answering.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The ports a scheduler's web UI takes when none is given: the first free one of these (as
/// Spark's application UI takes 4040 and the ports after it).
pub const UI_PORTS: std::ops::RangeInclusive<u16> = 4040..=4056;

/// Where a client finds its scheduler's web UI when it is published elsewhere (a proxy, a
/// container's port mapping): its base URL, e.g. `http://sched.example:4040`.
pub const UI_URL_ENV: &str = "ARDENT_UI_URL";

/// What a web UI says of the scheduler it belongs to (`/api/ui/scheduler`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct UiIdentity {
    /// The scheduler's cluster (gRPC and REST) port.
    pub scheduler_port: u16,
    pub version: String,
}

/// Why a request to the scheduler's REST API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestError {
    #[error("the scheduler at {url} did not answer: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("the scheduler at {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the scheduler at {url} sent a body ardent cannot read: {source}")]
    Body {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
}

/// An executor as `/api/executors` lists it (the fields ardent reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExecutorSummary {
    pub id: String,
    pub host: String,
    pub port: u16,
    /// Milliseconds since its last heartbeat.
    pub last_seen: Option<u128>,
    pub specification: ExecutorSpecification,
}

/// What an executor offers (Ballista's `ExecutorSpecification`, which is not deserializable).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ExecutorSpecification {
    /// Task slots: partitions the executor runs at once.
    pub vcores: u32,
}

/// Where a job stands: stages and tasks finished out of those planned so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobProgress {
    pub job_id: String,
    /// Ballista's status word: `Queued`, `Running`, `Completed`, `Failed` or `Invalid`.
    pub status: String,
    pub stages_done: usize,
    pub stages: usize,
    pub tasks_done: usize,
    pub tasks: usize,
}

/// The REST API of one scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerApi {
    base: String,
    agent: ureq::Agent,
}

impl SchedulerApi {
    pub fn new(host: &str, port: u16) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build();
        Self {
            base: format!("http://{host}:{port}"),
            agent: config.into(),
        }
    }

    /// GETs `path` and reads its body with `read`.
    fn fetch<T>(
        &self,
        path: &str,
        read: impl FnOnce(&mut ureq::Body) -> Result<T, ureq::Error>,
    ) -> Result<T, RestError> {
        let url = format!("{}{path}", self.base);
        let mut response =
            self.agent
                .get(&url)
                .call()
                .map_err(|source| RestError::Unreachable {
                    url: url.clone(),
                    source: Box::new(source),
                })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(RestError::Status { url, status });
        }
        read(response.body_mut()).map_err(|source| RestError::Body {
            url,
            source: Box::new(source),
        })
    }

    /// GETs `path` and reads its JSON body.
    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, RestError> {
        self.fetch(path, |body| body.read_json())
    }

    /// The executors the scheduler knows.
    pub fn executors(&self) -> Result<Vec<ExecutorSummary>, RestError> {
        self.get("/api/executors")
    }

    /// The scheduler's jobs, newest and oldest alike.
    pub fn jobs(&self) -> Result<Vec<JobResponse>, RestError> {
        self.get("/api/jobs")
    }

    /// The stages of a job, with their tasks.
    pub fn stages(&self, job_id: &str) -> Result<QueryStagesResponse, RestError> {
        self.get(&format!("/api/job/{job_id}/stages"))
    }

    /// The plans of a job's stages with their operators' metrics summed over tasks, as
    /// Ballista renders them (`CacheScanExec: ..., metrics=[cache_hits=3, ...]`).
    pub fn stage_metrics(&self, job_id: &str) -> Result<Vec<String>, RestError> {
        let stages: QueryStagesResponse =
            self.get(&format!("/api/job/{job_id}/stages?plan_format=metrics"))?;
        Ok(stages
            .stages
            .into_iter()
            .filter_map(|s| s.stage_plan)
            .collect())
    }

    /// The scheduler's Prometheus metrics, as text.
    pub fn metrics(&self) -> Result<String, RestError> {
        self.fetch("/api/metrics", |body| body.read_to_string())
    }

    /// The base URL of this scheduler's web UI: [`UI_URL_ENV`] when set, else the first of
    /// [`UI_PORTS`] on the scheduler's host whose UI names this scheduler's port; `None` when
    /// none does (the UI is off, on another port, or asks for credentials).
    pub fn ui_url(&self) -> Option<String> {
        if let Ok(url) = std::env::var(UI_URL_ENV) {
            return Some(url.trim_end_matches('/').to_string());
        }
        let (host, port) = self.base.strip_prefix("http://")?.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        // Refused connections answer at once; a silent host must not hold the client up.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(500)))
            .http_status_as_error(false)
            .build()
            .into();
        UI_PORTS.map(|p| format!("http://{host}:{p}")).find(|ui| {
            let Ok(mut response) = agent.get(&format!("{ui}/api/ui/scheduler")).call() else {
                return false;
            };
            response.status() == 200
                && response
                    .body_mut()
                    .read_json::<UiIdentity>()
                    .is_ok_and(|id| id.scheduler_port == port)
        })
    }

    /// Where a job stands, from its stages' tasks.
    pub fn progress(&self, job: &JobResponse) -> Result<JobProgress, RestError> {
        let stages = self.stages(&job.job_id)?;
        let tasks = stages.stages.iter().flat_map(|s| s.tasks.iter().flatten());
        let (mut tasks_done, mut tasks_total) = (0, 0);
        for task in tasks {
            tasks_total += 1;
            tasks_done += usize::from(matches!(task.status, TaskStatus::Successful));
        }
        Ok(JobProgress {
            job_id: job.job_id.clone(),
            status: job.status.clone(),
            stages_done: job.completed_stages,
            stages: job.num_stages,
            tasks_done,
            tasks: tasks_total,
        })
    }

    /// Progress of the most recently started job of a client whose jobs are named
    /// `"<prefix>: <SQL>"` (a [`JobNaming`](super::job_name::JobNaming)), if the scheduler has one.
    pub fn job_progress(&self, prefix: &str) -> Result<Option<JobProgress>, RestError> {
        let prefix = format!("{prefix}: ");
        let newest = self
            .jobs()?
            .into_iter()
            .filter(|j| j.job_name.starts_with(&prefix))
            .max_by_key(|j| j.start_time);
        newest.map(|job| self.progress(&job)).transpose()
    }
}
