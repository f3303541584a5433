//! Which executor each task was bound to, as the scheduler's placement policy
//! ([`CachePlacement`](crate::cache::placement::CachePlacement)) binds them. Ballista keeps the
//! executor of a running or successful task but forgets it once the task fails; the web UI
//! names the executor a task failed on from this record.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use ballista_core::serde::scheduler::TaskKey;

/// Jobs whose placements are kept; older ones are forgotten first, as the UI's own lists are
/// bounded.
pub const JOBS_KEPT: usize = 200;

/// The record. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug, Default)]
pub struct TaskPlacements {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Per job, (stage, task) to executor.
    jobs: HashMap<String, HashMap<(usize, usize), String>>,
    /// Jobs in the order first seen.
    order: VecDeque<String>,
}

impl TaskPlacements {
    /// Notes that the task `key` was bound to `executor`.
    pub fn record(&self, key: &TaskKey, executor: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let job = key.job_id.to_string();
        if !inner.jobs.contains_key(&job) {
            inner.order.push_back(job.clone());
            while inner.order.len() > JOBS_KEPT {
                if let Some(old) = inner.order.pop_front() {
                    inner.jobs.remove(&old);
                }
            }
        }
        inner
            .jobs
            .entry(job)
            .or_default()
            .insert((key.stage_id, key.task_id), executor.to_string());
    }

    /// The executor the task was last bound to, if it is remembered.
    pub fn executor(&self, job: &str, stage: usize, task: usize) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.jobs.get(job)?.get(&(stage, task)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        placements.record(&key("j0", 1, 0), "e1");
        placements.record(&key("j0", 1, 0), "e2");
        assert_eq!(placements.executor("j0", 1, 0).as_deref(), Some("e2"));
        assert_eq!(placements.executor("j0", 1, 1), None);
        for n in 1..=JOBS_KEPT {
            placements.record(&key(&format!("j{n}"), 1, 0), "e1");
        }
        assert_eq!(
            placements.executor("j0", 1, 0),
            None,
            "the oldest job is forgotten"
        );
        assert!(placements
            .executor(&format!("j{JOBS_KEPT}"), 1, 0)
            .is_some());
    }
}
