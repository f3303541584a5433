//! Which executor each task was bound to, and as which attempt, as the scheduler's placement
//! policy ([`CachePlacement`](crate::cache::placement::CachePlacement)) binds them. Ballista
//! keeps the executor of a running or successful task but forgets it once the task fails, and
//! keeps no attempt number per task; the web UI reads both from this record.

use std::collections::HashMap;

use ballista_core::serde::scheduler::TaskKey;

use crate::recent::RecentJobs;

/// Where a task was bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub executor: String,
    /// 0 for a partition's first run, one more for each earlier failed run of its partitions.
    pub attempt: usize,
}

/// The record, per job: (stage, task) to its placement.
#[derive(Debug, Default)]
pub struct TaskPlacements {
    jobs: RecentJobs<HashMap<(usize, usize), Placement>>,
}

impl TaskPlacements {
    /// Notes that the task `key` was bound to `executor` as `attempt`.
    pub fn record(&self, key: &TaskKey, executor: &str, attempt: usize) {
        let placement = Placement {
            executor: executor.to_string(),
            attempt,
        };
        self.jobs.update(key.job_id.as_str(), |tasks| {
            tasks.insert((key.stage_id, key.task_id), placement);
        });
    }

    /// Where the task was last bound, if it is remembered.
    pub fn placement(&self, job: &str, stage: usize, task: usize) -> Option<Placement> {
        self.jobs
            .get(job, |tasks| tasks.get(&(stage, task)).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recent::JOBS_KEPT;

    fn key(job: &str, stage: usize, task: usize) -> TaskKey {
        TaskKey {
            job_id: job.to_string().into(),
            stage_id: stage,
            task_id: task,
        }
    }

    #[test]
    fn remembers_the_last_binding_of_the_newest_jobs() {
        let placements = TaskPlacements::default();
        placements.record(&key("j0", 1, 0), "e1", 0);
        placements.record(&key("j0", 1, 0), "e2", 1);
        assert_eq!(
            placements.placement("j0", 1, 0),
            Some(Placement {
                executor: "e2".to_string(),
                attempt: 1
            })
        );
        assert_eq!(placements.placement("j0", 1, 1), None);
        for n in 1..=JOBS_KEPT {
            placements.record(&key(&format!("j{n}"), 1, 0), "e1", 0);
        }
        assert_eq!(
            placements.placement("j0", 1, 0),
            None,
            "the oldest job is forgotten"
        );
        assert!(placements
            .placement(&format!("j{JOBS_KEPT}"), 1, 0)
            .is_some());
    }
}
