//! Facts about the newest jobs that Ballista does not keep itself (where a failed task ran, who
//! submitted a job), bounded as the web UI's own lists are: the oldest job is forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// Jobs whose facts are kept.
pub const JOBS_KEPT: usize = 200;

/// A value per job id, for the newest [`JOBS_KEPT`] jobs. Cheap to share behind an `Arc`;
/// every method takes `&self`.
///
/// ```
/// use ardent_scheduler::recent::{RecentJobs, JOBS_KEPT};
/// let owners = RecentJobs::<String>::default();
/// owners.update("job-0", |owner| *owner = "ann".to_string());
/// for n in 1..=JOBS_KEPT {
///     owners.update(&format!("job-{n}"), |owner| *owner = "bob".to_string());
/// }
/// assert_eq!(owners.get("job-0", |owner| Some(owner.clone())), None);
/// assert_eq!(owners.get("job-1", |owner| Some(owner.clone())).as_deref(), Some("bob"));
/// ```
#[derive(Debug)]
pub struct RecentJobs<V> {
    inner: Mutex<Inner<V>>,
}

#[derive(Debug)]
struct Inner<V> {
    jobs: HashMap<String, V>,
    /// Job ids in the order first seen.
    order: VecDeque<String>,
}

impl<V> Default for RecentJobs<V> {
    fn default() -> Self {
        RecentJobs {
            inner: Mutex::new(Inner {
                jobs: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }
}

impl<V: Default> RecentJobs<V> {
    /// Changes `job`'s value (a default one if the job is new), forgetting the oldest job
    /// beyond [`JOBS_KEPT`].
    pub fn update(&self, job: &str, change: impl FnOnce(&mut V)) {
        let mut inner = self.lock();
        if !inner.jobs.contains_key(job) {
            inner.order.push_back(job.to_string());
            while inner.order.len() > JOBS_KEPT {
                if let Some(old) = inner.order.pop_front() {
                    inner.jobs.remove(&old);
                }
            }
        }
        change(inner.jobs.entry(job.to_string()).or_default());
    }

    /// What `read` makes of `job`'s value, if the job is remembered.
    pub fn get<T>(&self, job: &str, read: impl FnOnce(&V) -> Option<T>) -> Option<T> {
        self.lock().jobs.get(job).and_then(read)
    }

    fn lock(&self) -> MutexGuard<'_, Inner<V>> {
        // The maps stay consistent whatever panicked while they were held.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
