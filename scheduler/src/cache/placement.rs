//! Cache-aware task placement: a stage that reads a cache sends each partition's task to the
//! executor holding that partition while it has a free slot; everything else is bound as
//! Ballista's default (`bias`) policy binds it, largest free budget first.
//!
//! Ballista's own policies are private to its crate, so this one binds tasks itself through the
//! public parts of the running stage (its pending partitions, task infos and failure counts),
//! keeping the rules Ballista's binding keeps: a task takes at most as many partitions as its
//! executor has free slots (and `ballista.job.max_partitions_per_task`), and a stage whose
//! output collapses to one partition is bound as one task.

use std::collections::HashMap;
use std::sync::Arc;

use ardent_engine::cache::exec::{CacheScanExec, PartitionState};
use ballista_core::config::BallistaConfig;
use ballista_core::serde::protobuf::job_status;
use ballista_core::serde::protobuf::AvailableVcores;
use ballista_core::serde::scheduler::TaskKey;
use ballista_core::JobId;
use ballista_scheduler::cluster::{BoundTask, DistributionPolicy};
use ballista_scheduler::state::execution_graph::{create_task_info, TaskDescription};
use ballista_scheduler::state::execution_stage::RunningStage;
use ballista_scheduler::state::task_manager::JobInfoCache;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

use crate::placements::TaskPlacements;

/// The policy. See the [module docs](self).
#[derive(Debug, Default)]
pub struct CachePlacement {
    /// Where it bound each task, for the web UI.
    placements: Arc<TaskPlacements>,
}

impl CachePlacement {
    /// A policy that notes each binding in `placements`.
    pub fn new(placements: Arc<TaskPlacements>) -> Self {
        CachePlacement { placements }
    }
}

/// For each input partition of a stage, the executor holding the cached partition it reads,
/// when the stage reads a cache partition by partition.
fn holders(plan: &Arc<dyn ExecutionPlan>, partitions: usize) -> Option<Vec<Option<String>>> {
    let mut stack = vec![Arc::clone(plan)];
    while let Some(node) = stack.pop() {
        if let Some(scan) = node.downcast_ref::<CacheScanExec>() {
            let states = &scan.scan().states;
            if states.len() != partitions {
                return None;
            }
            return Some(
                states
                    .iter()
                    .map(|s| match s {
                        PartitionState::Held { executor, .. } => Some(executor.clone()),
                        _ => None,
                    })
                    .collect(),
            );
        }
        // A stage ends at its shuffle readers: caches below them are other stages'.
        if !node.name().contains("ShuffleReader") {
            stack.extend(node.children().into_iter().cloned());
        }
    }
    None
}

/// True when the stage's output (below its shuffle writer) narrows to one partition before any
/// shuffle reader: its input partitions must then be bound as one task, or downstream would see
/// partial results.
fn collapses(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut node = match plan.children().as_slice() {
        [child] => Arc::clone(child),
        _ => return false,
    };
    loop {
        if node.name().contains("ShuffleReader") {
            return false;
        }
        if node.output_partitioning().partition_count() == 1 {
            return true;
        }
        node = match node.children().as_slice() {
            [child] => Arc::clone(child),
            _ => return false,
        };
    }
}

/// Binds `partitions` of `stage` as one task on `budget`'s executor.
fn bind(
    stage: &mut RunningStage,
    session_id: &str,
    job_id: &JobId,
    budget: &mut AvailableVcores,
    partitions: Vec<usize>,
    vcores: u32,
) -> BoundTask {
    let executor_id = budget.executor_id.clone();
    let task_id = stage.task_infos.len();
    let task_attempt = partitions
        .iter()
        .map(|&p| stage.task_failure_numbers.get(p).copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let mut info = create_task_info(executor_id.clone(), task_id);
    info.global_input_partition_ids = partitions.clone();
    info.vcores_consumed = vcores;
    stage.task_infos.push(info);
    budget.vcores = budget.vcores.saturating_sub(vcores);
    let task = TaskDescription {
        session_id: session_id.to_string(),
        key: TaskKey {
            job_id: job_id.clone(),
            stage_id: stage.stage_id,
            task_id,
        },
        stage_attempt_num: stage.stage_attempt_num,
        task_attempt,
        global_input_partition_ids: partitions,
        vcores_consumed: vcores,
        plan: Arc::clone(&stage.plan),
        session_config: Arc::clone(&stage.session_config),
    };
    (executor_id, task)
}

/// Binds what it can of one running stage onto `budgets`; the rest stays pending.
fn bind_stage(
    stage: &mut RunningStage,
    session_id: &str,
    job_id: &JobId,
    budgets: &mut [&mut AvailableVcores],
    bound: &mut Vec<BoundTask>,
) {
    if collapses(&stage.plan) {
        if let Some(budget) = budgets.iter_mut().find(|b| b.vcores > 0) {
            let partitions = stage.pending.next_slice(usize::MAX);
            if !partitions.is_empty() {
                bound.push(bind(stage, session_id, job_id, budget, partitions, 1));
            }
        }
        return;
    }
    let cap = stage
        .session_config
        .options()
        .extensions
        .get::<BallistaConfig>()
        .map(|c| c.max_partitions_per_task())
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX);
    let pending = stage.pending.next_slice(usize::MAX);
    if pending.is_empty() {
        return;
    }
    let holders = holders(&stage.plan, stage.pending.total_partitions());
    // Partitions go first to the executor holding them, then to whoever has room.
    let mut wanted: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut anywhere: Vec<usize> = Vec::new();
    for p in pending {
        let holder = holders
            .as_ref()
            .and_then(|h| h.get(p).cloned().flatten())
            .and_then(|id| budgets.iter().position(|b| b.executor_id == id));
        match holder {
            Some(i) => wanted.entry(i).or_default().push(p),
            None => anywhere.push(p),
        }
    }
    for (i, mut partitions) in wanted {
        let room = (budgets[i].vcores as usize).min(cap);
        let overflow = partitions.split_off(room.min(partitions.len()));
        anywhere.extend(overflow);
        for chunk in partitions.chunks(cap.max(1)) {
            let n = chunk.len() as u32;
            bound.push(bind(
                stage,
                session_id,
                job_id,
                budgets[i],
                chunk.to_vec(),
                n,
            ));
        }
    }
    // Largest budget first, as Ballista's bias policy.
    anywhere.sort_unstable();
    let mut order: Vec<usize> = (0..budgets.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(budgets[i].vcores));
    let mut rest = anywhere.into_iter().peekable();
    for i in order {
        while rest.peek().is_some() && budgets[i].vcores > 0 {
            let take = (budgets[i].vcores as usize).min(cap);
            let chunk: Vec<usize> = rest.by_ref().take(take).collect();
            let n = chunk.len() as u32;
            bound.push(bind(stage, session_id, job_id, budgets[i], chunk, n));
        }
    }
    let left: Vec<usize> = rest.collect();
    if !left.is_empty() {
        stage.pending.reschedule(left);
    }
}

#[async_trait::async_trait]
impl DistributionPolicy for CachePlacement {
    async fn bind_tasks(
        &self,
        mut budgets: Vec<&mut AvailableVcores>,
        running_jobs: Arc<HashMap<JobId, JobInfoCache>>,
    ) -> datafusion::error::Result<Vec<BoundTask>> {
        let mut bound = Vec::new();
        for (job_id, job) in running_jobs.iter() {
            if budgets.iter().all(|b| b.vcores == 0) {
                break;
            }
            if !matches!(job.status, Some(job_status::Status::Running(_))) {
                continue;
            }
            let mut graph = job.execution_graph.write().await;
            let session_id = graph.session_id().to_string();
            let mut done = Vec::new();
            while let Some(stage) = graph.fetch_running_stage(&done) {
                done.push(stage.stage_id);
                bind_stage(stage, &session_id, job_id, &mut budgets, &mut bound);
            }
        }
        for (executor, task) in &bound {
            self.placements
                .record(&task.key, executor, task.task_attempt);
        }
        Ok(bound)
    }

    fn name(&self) -> &str {
        "ardent-cache-placement"
    }
}
