//! What the pages show, read from the scheduler's state into plain data: jobs and their
//! stages and tasks, executors (with the lost ones the [roster](super::roster) remembers), and
//! the executors' caches. Each is `Serialize`: the JSON twin of a page is this data.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ardent_engine::cache::locate::{CacheLocator, Inventory};
use ardent_engine::now_ms;
use ballista_core::execution_plans::{
    RangeShuffleReaderExec, ShuffleReaderExec, UnresolvedShuffleExec,
};
use ballista_core::serde::protobuf::executor_metric::Metric;
use ballista_core::serde::protobuf::job_status::Status as JobStatusKind;
use ballista_core::serde::protobuf::task_status::Status as TaskStatusKind;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::display::format_stage_metrics;
use ballista_scheduler::state::execution_graph::ExecutionGraphBox;
use ballista_scheduler::state::execution_stage::{ExecutionStage, TaskInfo};
use datafusion::physical_plan::metrics::{MetricValue, MetricsSet};
use datafusion::physical_plan::{displayable, ExecutionPlan};
use serde::Serialize;

use super::roster::Roster;
use crate::flight_sql::{Scheduler, SessionInfo, Sessions};
use crate::placements::{Placement, TaskPlacements};

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
}

impl JobState {
    pub fn label(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

/// A line of the Jobs page.
#[derive(Clone, Debug, Serialize)]
pub struct JobRow {
    pub id: String,
    pub name: String,
    /// Who submitted it, for a job submitted through Flight SQL (the cluster port takes no
    /// users: its clients' jobs carry the client's tag in their name).
    pub user: Option<String>,
    pub state: JobState,
    /// When it was submitted (ms since the epoch).
    pub submitted_ms: u64,
    /// How long it ran, or has run so far.
    pub duration_ms: u64,
    pub stages_done: usize,
    pub stages: usize,
    /// Input partitions of its stages done, and in all (a task may take several).
    pub partitions_done: usize,
    pub partitions: usize,
    /// Why it failed.
    pub error: Option<String>,
}

/// A job in full: its stages, plans and error.
#[derive(Clone, Debug, Serialize)]
pub struct JobDetail {
    pub job: JobRow,
    pub stages: Vec<StageView>,
    pub logical_plan: Option<String>,
    pub physical_plan: String,
    /// The executors its failed tasks ran on, when it failed.
    pub failed_on: Vec<String>,
}

/// A stage of a job.
#[derive(Clone, Debug, Serialize)]
pub struct StageView {
    pub id: usize,
    /// Ballista's word for it: UnResolved, Resolved, Running, Successful, Failed.
    pub state: String,
    /// The stages whose output this one reads (shuffles).
    pub reads: Vec<usize>,
    pub partitions: usize,
    pub partitions_done: usize,
    pub tasks: Vec<TaskView>,
    /// The stage's plan, with its metrics once it ran.
    pub plan: String,
    pub error: Option<String>,
}

/// A task of a stage.
#[derive(Clone, Debug, Serialize)]
pub struct TaskView {
    pub id: usize,
    pub partitions: Vec<usize>,
    /// The executor it ran or runs on (for a failed task, from the scheduler's placement
    /// record: unknown under a `--task-distribution` other than the default).
    pub executor: Option<String>,
    pub state: &'static str,
    /// 0 for its partitions' first run, one more per earlier failed run (from the placement
    /// record, as the executor).
    pub attempt: Option<usize>,
    pub duration_ms: u64,
    /// Rows it read (from its raster scans, shuffle reads or files), and bytes: read from
    /// files, or fetched from other executors (Ballista does not count shuffle data read from
    /// local files). Once it succeeded: its share of the stage's metrics.
    pub rows_in: Option<u64>,
    pub bytes_in: Option<u64>,
    /// Rows and bytes it wrote to its shuffle outputs, once it succeeded.
    pub rows_out: Option<u64>,
    pub bytes_out: Option<u64>,
    /// Bytes its operators spilled to disk, once it succeeded.
    pub spilled_bytes: Option<u64>,
    pub error: Option<String>,
}

/// An executor, registered now or lost.
#[derive(Clone, Debug, Serialize)]
pub struct ExecutorView {
    pub id: String,
    pub host: String,
    pub flight_port: u16,
    pub grpc_port: u16,
    pub slots: u32,
    pub slots_used: u32,
    pub memory_used: Option<u64>,
    pub memory_total: Option<u64>,
    /// Last heartbeat (ms since the epoch).
    pub last_heartbeat_ms: Option<u64>,
    /// Tasks it finished, and tasks that failed on it, over the jobs the scheduler still keeps.
    pub tasks_run: usize,
    pub tasks_failed: usize,
    pub cached_partitions: usize,
    pub cached_bytes: u64,
    /// When the scheduler removed it; `None` while it is alive.
    pub lost_at_ms: Option<u64>,
}

/// One executor's cache store.
#[derive(Clone, Debug, Serialize)]
pub struct CacheStoreView {
    pub executor: String,
    pub memory_limit: u64,
    pub memory_used: u64,
    pub disk_limit: u64,
    pub disk_used: u64,
}

/// A cache of the cluster: its partitions, where they live, and what reading it did.
#[derive(Clone, Debug, Serialize)]
pub struct CacheView {
    /// The cache's name in the session that made it (its key when no executor knows it).
    pub name: String,
    /// The key the executors store it under: the cache's id and its sources' digest.
    pub key: String,
    pub partitions: Vec<CachedPartitionView>,
    pub rows: usize,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub hits: u64,
    pub recomputed: u64,
}

/// A cached partition on an executor.
#[derive(Clone, Debug, Serialize)]
pub struct CachedPartitionView {
    pub partition: usize,
    pub executor: String,
    pub storage: String,
    pub rows: usize,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub hits: u64,
}

/// The Caches page: every executor's store and every cache they hold.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CachesView {
    pub stores: Vec<CacheStoreView>,
    pub caches: Vec<CacheView>,
}

/// Reads the pages' data from a scheduler.
#[derive(Clone)]
pub struct Model {
    pub scheduler: Scheduler,
    pub cluster: BallistaCluster,
    pub caches: Arc<dyn CacheLocator>,
    pub roster: Roster,
    pub placements: Arc<TaskPlacements>,
    /// Flight SQL's sessions, when the scheduler serves it.
    pub sessions: Option<Sessions>,
}

/// The Sessions page: Flight SQL's live sessions and what they are running.
#[derive(Clone, Debug, Serialize)]
pub struct SessionsView {
    /// Whether the scheduler serves Flight SQL at all.
    pub flight_sql: bool,
    pub sessions: Vec<SessionView>,
}

/// A live Flight SQL session.
#[derive(Clone, Debug, Serialize)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: SessionInfo,
    /// Its running and queued jobs.
    pub running: Vec<JobRow>,
}

impl Model {
    /// Every job the scheduler knows, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobRow>, String> {
        let overviews = self
            .scheduler
            .state
            .task_manager
            .get_all_jobs()
            .await
            .map_err(|e| format!("cannot list the jobs: {e}"))?;
        let mut rows = Vec::with_capacity(overviews.len());
        for overview in overviews {
            let id = overview.job_id.to_string();
            let graph = self.graph(&id).await;
            let (partitions_done, partitions) =
                graph.as_ref().map(partition_counts).unwrap_or((0, 0));
            let (state, error) = job_state(overview.status.status.as_ref());
            rows.push(JobRow {
                user: self.owner(&id),
                id,
                name: overview.job_name,
                state,
                submitted_ms: overview.start_time,
                duration_ms: duration(overview.start_time, overview.end_time),
                stages_done: overview.completed_stages,
                stages: overview.num_stages,
                partitions_done,
                partitions,
                error,
            });
        }
        rows.sort_by(|a, b| (b.submitted_ms, b.id.as_str()).cmp(&(a.submitted_ms, a.id.as_str())));
        Ok(rows)
    }

    /// One job in full, if the scheduler knows it.
    pub async fn job(&self, id: &str) -> Option<JobDetail> {
        let graph = self.graph(id).await?;
        let g = graph.as_ref();
        let (state, error) = job_state(g.status().status.as_ref());
        let (partitions_done, partitions) = partition_counts(&graph);
        let mut stages: Vec<StageView> = g
            .stages()
            .iter()
            .map(|(stage, s)| {
                stage_view(*stage, s, &graph, |task| {
                    self.placements.placement(id, *stage, task)
                })
            })
            .collect();
        stages.sort_by_key(|s| s.id);
        let mut failed_on: Vec<String> = stages
            .iter()
            .flat_map(|s| &s.tasks)
            .filter(|t| t.state == "failed")
            .filter_map(|t| t.executor.clone())
            .collect();
        failed_on.sort();
        failed_on.dedup();
        Some(JobDetail {
            job: JobRow {
                id: id.to_string(),
                name: g.job_name().to_string(),
                user: self.owner(id),
                state,
                submitted_ms: g.start_time(),
                duration_ms: duration(g.start_time(), g.end_time()),
                stages_done: g.completed_stages(),
                stages: g.stage_count(),
                partitions_done,
                partitions,
                error,
            },
            stages,
            logical_plan: g.logical_plan().map(str::to_string),
            physical_plan: displayable(g.physical_plan().as_ref())
                .indent(false)
                .to_string(),
            failed_on,
        })
    }

    fn owner(&self, job_id: &str) -> Option<String> {
        self.sessions.as_ref()?.owner(job_id)
    }

    /// Cancels a queued or running job; `Ok(false)` when it had already ended.
    pub async fn cancel(&self, id: &str) -> Result<bool, String> {
        let Some(job) = self.job(id).await else {
            return Err(format!("no job {id}"));
        };
        if !job.job.state.is_active() {
            return Ok(false);
        }
        self.scheduler
            .cancel_job(id.to_string().into())
            .await
            .map_err(|e| format!("cannot cancel job {id}: {e}"))?;
        tracing::info!(job_id = %id, "job cancelled from the web UI");
        // The scheduler cancels on its event loop, and between dropping the running job and
        // saving it as failed it knows no such job: wait for the end, so the page shown next
        // has it (a while at most; a cancel still under way shows as running).
        let deadline = tokio::time::Instant::now() + CANCEL_SETTLES;
        while tokio::time::Instant::now() < deadline {
            if matches!(self.job(id).await, Some(job) if !job.job.state.is_active()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Ok(true)
    }

    /// Flight SQL's live sessions, oldest first, with their running jobs.
    pub async fn sessions(&self) -> Result<SessionsView, String> {
        let Some(sessions) = &self.sessions else {
            return Ok(SessionsView {
                flight_sql: false,
                sessions: Vec::new(),
            });
        };
        let jobs = self.jobs().await?;
        let sessions = sessions
            .list()
            .into_iter()
            .map(|session| {
                let running = jobs
                    .iter()
                    .filter(|j| session.running_jobs.contains(&j.id))
                    .cloned()
                    .collect();
                SessionView { session, running }
            })
            .collect();
        Ok(SessionsView {
            flight_sql: true,
            sessions,
        })
    }

    /// The executors alive, then the lost ones the roster remembers.
    pub async fn executors(&self) -> Result<Vec<ExecutorView>, String> {
        let alive = self
            .scheduler
            .state
            .executor_manager
            .get_executors_state()
            .await
            .map_err(|e| format!("cannot list the executors: {e}"))?;
        // Per executor: tasks run, failed, and slots in use.
        let mut tasks: HashMap<String, (usize, usize, u32)> = HashMap::new();
        for job in self.all_graphs().await {
            let job_id = job.as_ref().job_id().to_string();
            for (stage_id, stage) in job.as_ref().stages() {
                for info in stage_tasks(stage) {
                    let executor = task_executor(&info.task_status)
                        .map(str::to_string)
                        .or_else(|| {
                            self.placements
                                .placement(&job_id, *stage_id, info.task_id)
                                .map(|p| p.executor)
                        });
                    let Some(executor) = executor else { continue };
                    let counts = tasks.entry(executor).or_default();
                    match &info.task_status {
                        TaskStatusKind::Running(_) => counts.2 += info.vcores_consumed,
                        TaskStatusKind::Successful(_) => counts.0 += 1,
                        TaskStatusKind::Failed(_) => counts.1 += 1,
                    }
                }
            }
        }
        let inventories = self.caches.inventories().await.unwrap_or_default();
        let mut views = Vec::new();
        for (metadata, heartbeat, metrics) in alive {
            let (run, failed, used) = tasks.get(&metadata.id).copied().unwrap_or_default();
            let memory = |want: fn(&Metric) -> Option<u64>| {
                metrics
                    .iter()
                    .filter_map(|m| m.metric.as_ref())
                    .find_map(want)
            };
            let inventory = inventories
                .iter()
                .find(|(id, _)| *id == metadata.id)
                .map(|(_, i)| i);
            views.push(ExecutorView {
                id: metadata.id.clone(),
                host: metadata.host.clone(),
                flight_port: metadata.port,
                grpc_port: metadata.grpc_port,
                slots: metadata.specification.vcores,
                slots_used: used,
                memory_used: memory(|m| match m {
                    Metric::ProcPhysicalMemory(b) => Some(*b),
                    _ => None,
                }),
                memory_total: memory(|m| match m {
                    Metric::TotalMemory(b) => Some(*b),
                    _ => None,
                }),
                last_heartbeat_ms: heartbeat.map(|d| d.as_millis() as u64),
                tasks_run: run,
                tasks_failed: failed,
                cached_partitions: inventory.map_or(0, |i| i.partitions.len()),
                cached_bytes: inventory.map_or(0, |i| i.memory_used + i.disk_used),
                lost_at_ms: None,
            });
            self.roster.seen(&views[views.len() - 1]);
        }
        let alive: Vec<String> = views.iter().map(|v| v.id.clone()).collect();
        views.extend(self.roster.lost(&alive));
        Ok(views)
    }

    /// Every executor's cache store and what it holds.
    pub async fn caches(&self) -> Result<CachesView, String> {
        let inventories = self
            .caches
            .inventories()
            .await
            .map_err(|e| format!("cannot ask the executors for their caches: {e}"))?;
        Ok(caches_view(&inventories))
    }

    /// A job's graph: from the running jobs while it runs, else from the job state.
    async fn graph(&self, id: &str) -> Option<ExecutionGraphBox> {
        let running = self.scheduler.state.task_manager.get_running_job_cache();
        if let Some(info) = running.get(id) {
            return Some(info.execution_graph.read().await.cloned());
        }
        self.cluster
            .job_state()
            .get_execution_graph(&id.to_string().into())
            .await
            .ok()
            .flatten()
    }

    async fn all_graphs(&self) -> Vec<ExecutionGraphBox> {
        let Ok(jobs) = self.scheduler.state.task_manager.get_all_jobs().await else {
            return Vec::new();
        };
        let mut graphs = Vec::new();
        for job in jobs {
            if let Some(graph) = self.graph(job.job_id.as_str()).await {
                graphs.push(graph);
            }
        }
        graphs
    }
}

fn duration(start: u64, end: u64) -> u64 {
    if start == 0 {
        0
    } else if end == 0 {
        now_ms().saturating_sub(start)
    } else {
        end.saturating_sub(start)
    }
}

#[async_trait::async_trait]
impl super::jobs::JobSource for Model {
    async fn jobs(&self) -> Result<Vec<JobRow>, String> {
        Model::jobs(self).await
    }

    async fn job(&self, id: &str) -> Option<JobDetail> {
        Model::job(self, id).await
    }

    async fn cancel(&self, id: &str) -> Result<bool, String> {
        Model::cancel(self, id).await
    }
}

/// How long a cancel from the UI waits for the scheduler to record the job's end.
const CANCEL_SETTLES: std::time::Duration = std::time::Duration::from_secs(10);

/// An error as people read it. Ballista passes a task's error on in the `Debug` form of
/// DataFusion's (`...: DataFusionError(Shared(External(DataFusionError(Execution("raster file
/// ..."))))`): this keeps the words before it and the innermost message, unescaped.
pub fn readable_error(raw: &str) -> String {
    let Some(start) = raw.find("DataFusionError(") else {
        return raw.to_string();
    };
    let Some(quote) = raw[start..].find("(\"").map(|q| start + q + 2) else {
        return raw.to_string();
    };
    let mut message = String::new();
    let mut chars = raw[quote..].char_indices();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => message.push('\n'),
                Some((_, 't')) => message.push('\t'),
                Some((_, other)) => message.push(other),
                None => break,
            },
            '"' => {
                end = Some(quote + i + 1);
                break;
            }
            c => message.push(c),
        }
    }
    let Some(end) = end else {
        return raw.to_string();
    };
    let rest = raw[end..].trim_start_matches(')').trim();
    let mut readable = format!("{}{message}", &raw[..start]);
    if !rest.is_empty() {
        readable.push(' ');
        readable.push_str(rest);
    }
    readable
}

fn job_state(status: Option<&JobStatusKind>) -> (JobState, Option<String>) {
    match status {
        None | Some(JobStatusKind::Queued(_)) => (JobState::Queued, None),
        Some(JobStatusKind::Running(_)) => (JobState::Running, None),
        Some(JobStatusKind::Successful(_)) => (JobState::Completed, None),
        Some(JobStatusKind::Failed(f)) => (JobState::Failed, Some(readable_error(&f.error))),
    }
}

/// Input partitions done and in all, over the stages.
fn partition_counts(graph: &ExecutionGraphBox) -> (usize, usize) {
    graph
        .as_ref()
        .stages()
        .values()
        .fold((0, 0), |(done, all), stage| {
            (done + partitions_done(stage), all + stage_partitions(stage))
        })
}

fn partitions_done(stage: &ExecutionStage) -> usize {
    stage_tasks(stage)
        .iter()
        .filter(|t| matches!(t.task_status, TaskStatusKind::Successful(_)))
        .map(|t| t.global_input_partition_ids.len())
        .sum()
}

/// The stages whose output `stage` reads: its links as Ballista keeps them, and the shuffle
/// readers of its plan (the adaptive planner does not always keep the links).
fn reads(id: usize, stage: &ExecutionStage, graph: &ExecutionGraphBox) -> Vec<usize> {
    let mut reads: Vec<usize> = graph
        .as_ref()
        .stages()
        .iter()
        .filter(|(_, other)| other.output_links().contains(&id))
        .map(|(other, _)| *other)
        .collect();
    let mut plans: Vec<&dyn ExecutionPlan> = vec![stage.plan()];
    while let Some(plan) = plans.pop() {
        let read = plan
            .downcast_ref::<ShuffleReaderExec>()
            .map(|r| r.stage_id)
            .or_else(|| {
                plan.downcast_ref::<UnresolvedShuffleExec>()
                    .map(|r| r.stage_id)
            })
            .or_else(|| {
                plan.downcast_ref::<RangeShuffleReaderExec>()
                    .map(|r| r.stage_id)
            });
        reads.extend(read);
        plans.extend(plan.children().into_iter().map(|c| c.as_ref()));
    }
    reads.sort_unstable();
    reads.dedup();
    reads.retain(|r| *r != id);
    reads
}

fn stage_tasks(stage: &ExecutionStage) -> &[TaskInfo] {
    match stage {
        ExecutionStage::Running(s) => &s.task_infos,
        ExecutionStage::Successful(s) => &s.task_infos,
        ExecutionStage::Failed(s) => &s.task_infos,
        _ => &[],
    }
}

fn stage_partitions(stage: &ExecutionStage) -> usize {
    match stage {
        ExecutionStage::UnResolved(_) => stage
            .plan()
            .properties()
            .output_partitioning()
            .partition_count(),
        ExecutionStage::Resolved(s) => s.partitions,
        ExecutionStage::Running(s) => s.partitions,
        ExecutionStage::Successful(s) => s.partitions,
        ExecutionStage::Failed(s) => s.partitions,
    }
}

fn task_executor(status: &TaskStatusKind) -> Option<&str> {
    match status {
        TaskStatusKind::Running(t) => Some(&t.executor_id),
        TaskStatusKind::Successful(t) => Some(&t.executor_id),
        TaskStatusKind::Failed(_) => None,
    }
}

/// A stage's view; `placed` says where a task was bound (naming the executor of failed tasks).
fn stage_view(
    id: usize,
    stage: &ExecutionStage,
    graph: &ExecutionGraphBox,
    placed: impl Fn(usize) -> Option<Placement>,
) -> StageView {
    let metrics = match stage {
        ExecutionStage::Running(s) => s.stage_metrics.as_deref(),
        ExecutionStage::Successful(s) => Some(s.stage_metrics.as_slice()),
        ExecutionStage::Failed(s) => s.stage_metrics.as_deref(),
        _ => None,
    };
    let plan = match metrics {
        Some(metrics) if !metrics.is_empty() => format_stage_metrics(stage.plan(), metrics),
        _ => displayable(stage.plan()).indent(false).to_string(),
    };
    let tasks = stage_tasks(stage)
        .iter()
        .map(|t| {
            let (state, error) = match &t.task_status {
                TaskStatusKind::Running(_) => ("running", None),
                TaskStatusKind::Successful(_) => ("successful", None),
                TaskStatusKind::Failed(f) => ("failed", Some(readable_error(&f.error))),
            };
            let end = if t.end_exec_time > 0 {
                t.end_exec_time
            } else {
                now_ms() as u128
            };
            let output = match &t.task_status {
                TaskStatusKind::Successful(done) => Some(
                    done.partitions
                        .iter()
                        .fold((0, 0), |(r, b), p| (r + p.num_rows, b + p.num_bytes)),
                ),
                _ => None,
            };
            // A task's metrics join the stage's when it succeeds.
            let figures = match (&t.task_status, metrics) {
                (TaskStatusKind::Successful(_), Some(metrics)) => {
                    task_figures(stage.plan(), metrics, &t.global_input_partition_ids)
                }
                _ => None,
            };
            let placement = placed(t.task_id);
            TaskView {
                id: t.task_id,
                partitions: t.global_input_partition_ids.clone(),
                executor: task_executor(&t.task_status)
                    .map(str::to_string)
                    .or_else(|| placement.as_ref().map(|p| p.executor.clone())),
                state,
                attempt: placement.map(|p| p.attempt),
                duration_ms: if t.start_exec_time > 0 {
                    end.saturating_sub(t.start_exec_time) as u64
                } else {
                    0
                },
                rows_in: figures.as_ref().map(|f| f.rows_in),
                bytes_in: figures.as_ref().map(|f| f.bytes_in),
                rows_out: output.map(|(rows, _)| rows),
                bytes_out: output.map(|(_, bytes)| bytes),
                spilled_bytes: figures.as_ref().map(|f| f.spilled_bytes),
                error,
            }
        })
        .collect();
    StageView {
        id,
        state: stage.variant_name().to_string(),
        reads: reads(id, stage, graph),
        partitions: stage_partitions(stage),
        partitions_done: partitions_done(stage),
        tasks,
        plan,
        error: match stage {
            ExecutionStage::Failed(s) => Some(readable_error(&s.error_message)),
            _ => None,
        },
    }
}

/// Names of the metrics that count the bytes a plan's reader read: ardent's raster scans
/// and cache scans, DataFusion's Parquet scans, and Ballista's shuffle readers (which count
/// only what they fetch from other executors, not what they read from local shuffle files).
const BYTES_READ: [&str; 3] = ["bytes_read", "decoded_bytes", "bytes_scanned"];

/// What one task read and spilled.
#[derive(Debug, Default, PartialEq, Eq)]
struct TaskFigures {
    rows_in: u64,
    bytes_in: u64,
    spilled_bytes: u64,
}

/// A task's share of its stage's metrics. Ballista keeps one metrics set per node of the stage's
/// plan (in the order [`collect_plan_metrics`](ballista_core::utils::collect_plan_metrics)
/// visits them), each value tagged with the input partition it counts: the task's are those of
/// its input partitions. What it read is what the plan's readers put out: the nodes that count
/// [bytes read](BYTES_READ) (a raster scan's child, the chips it is given, is not one). `None`
/// when the metrics do not match the plan.
fn task_figures(
    plan: &dyn ExecutionPlan,
    metrics: &[MetricsSet],
    partitions: &[usize],
) -> Option<TaskFigures> {
    let mut nodes = 0;
    let mut pending = vec![plan];
    while let Some(node) = pending.pop() {
        nodes += usize::from(node.metrics().is_some());
        pending.extend(node.children().into_iter().map(|c| c.as_ref()));
    }
    if nodes != metrics.len() {
        return None;
    }
    let mut figures = TaskFigures::default();
    for set in metrics {
        let own: Vec<&MetricValue> = set
            .iter()
            .filter(|m| m.partition().is_some_and(|p| partitions.contains(&p)))
            .map(|m| m.value())
            .collect();
        let reader = own.iter().any(|v| BYTES_READ.contains(&v.name()));
        for value in own {
            let count = value.as_usize() as u64;
            match value {
                MetricValue::SpilledBytes(_) => figures.spilled_bytes += count,
                MetricValue::OutputRows(_) if reader => figures.rows_in += count,
                _ if BYTES_READ.contains(&value.name()) => figures.bytes_in += count,
                _ => {}
            }
        }
    }
    Some(figures)
}

fn caches_view(inventories: &[(String, Inventory)]) -> CachesView {
    let mut caches: BTreeMap<String, CacheView> = BTreeMap::new();
    let mut stores = Vec::new();
    for (executor, inventory) in inventories {
        stores.push(CacheStoreView {
            executor: executor.clone(),
            memory_limit: inventory.memory_limit,
            memory_used: inventory.memory_used,
            disk_limit: inventory.disk_limit,
            disk_used: inventory.disk_used,
        });
        for p in &inventory.partitions {
            let cache = caches
                .entry(p.key.cache.clone())
                .or_insert_with(|| CacheView {
                    name: p.key.cache.clone(),
                    key: p.key.cache.clone(),
                    partitions: Vec::new(),
                    rows: 0,
                    memory_bytes: 0,
                    disk_bytes: 0,
                    hits: 0,
                    recomputed: 0,
                });
            cache.rows += p.rows;
            cache.memory_bytes += p.memory_bytes;
            cache.disk_bytes += p.disk_bytes;
            cache.partitions.push(CachedPartitionView {
                partition: p.key.partition,
                executor: executor.clone(),
                storage: p.storage.to_string(),
                rows: p.rows,
                memory_bytes: p.memory_bytes,
                disk_bytes: p.disk_bytes,
                hits: p.hits,
            });
        }
        for (key, name) in &inventory.names {
            if let Some(cache) = caches.get_mut(key) {
                cache.name.clone_from(name);
            }
        }
        for (key, counts) in &inventory.counts {
            if let Some(cache) = caches.get_mut(key) {
                cache.hits += counts.hits;
                cache.recomputed += counts.recomputed;
            }
        }
    }
    for cache in caches.values_mut() {
        cache
            .partitions
            .sort_by(|a, b| (a.partition, &a.executor).cmp(&(b.partition, &b.executor)));
    }
    CachesView {
        stores,
        caches: caches.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::{readable_error, task_figures, TaskFigures};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
    use datafusion::physical_plan::metrics::{Count, Metric, MetricValue, MetricsSet};
    use datafusion::physical_plan::ExecutionPlan;
    use std::sync::Arc;

    fn set(values: &[(MetricValue, usize)]) -> MetricsSet {
        let mut set = MetricsSet::new();
        for (value, partition) in values {
            set.push(Arc::new(Metric::new(value.clone(), Some(*partition))));
        }
        set
    }

    fn count(n: usize) -> Count {
        let count = Count::new();
        count.add(n);
        count
    }

    #[test]
    fn a_task_reads_what_the_leaves_put_out_for_its_partitions() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, false)]));
        let leaf = MemorySourceConfig::try_new_exec(&[vec![], vec![]], schema, None).unwrap();
        let plan: Arc<dyn ExecutionPlan> = Arc::new(CoalescePartitionsExec::new(leaf));
        let bytes = |n| MetricValue::Count {
            name: "bytes_read".into(),
            count: count(n),
        };
        let metrics = [
            // The root: it reads nothing of its own, its spills count.
            set(&[
                (MetricValue::OutputRows(count(5)), 0),
                (MetricValue::SpilledBytes(count(100)), 0),
                (MetricValue::SpilledBytes(count(7)), 1),
            ]),
            set(&[
                (MetricValue::OutputRows(count(10)), 0),
                (MetricValue::OutputRows(count(20)), 1),
                (bytes(400), 0),
                (bytes(800), 1),
            ]),
        ];
        assert_eq!(
            task_figures(plan.as_ref(), &metrics, &[0]),
            Some(TaskFigures {
                rows_in: 10,
                bytes_in: 400,
                spilled_bytes: 100
            })
        );
        assert_eq!(
            task_figures(plan.as_ref(), &metrics, &[0, 1]).map(|f| f.rows_in),
            Some(30)
        );
        assert_eq!(
            task_figures(plan.as_ref(), &metrics[..1], &[0]),
            None,
            "metrics of another plan"
        );
    }

    #[test]
    fn errors_read_without_the_debug_wrapping() {
        let raw = "Task failed due to runtime execution error: DataFusionError(Shared(External(\
                   DataFusionError(Execution(\"raster file '/d/x.tif': TIFFReadEncodedStrip \
                   \\\"failed\\\"\\nat strip 3\")))))";
        assert_eq!(
            readable_error(raw),
            "Task failed due to runtime execution error: raster file '/d/x.tif': \
             TIFFReadEncodedStrip \"failed\"\nat strip 3"
        );
        assert_eq!(readable_error("plain words"), "plain words");
        let unterminated = "x: DataFusionError(Execution(\"cut";
        assert_eq!(readable_error(unterminated), unterminated);
    }
}
