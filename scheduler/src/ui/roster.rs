//! The executors the UI has known. Ballista forgets an executor as soon as it is removed; the
//! Executors page still shows it, as lost and since when, the way Spark's shows dead executors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ardent_engine::now_ms;
use ballista_scheduler::cluster::ClusterStateEvent;
use futures::StreamExt;

use super::model::ExecutorView;
use crate::flight_sql::Scheduler;

/// Lost executors kept, at most; the oldest go first.
const LOST_KEPT: usize = 200;

/// Executors seen, with when each was lost.
#[derive(Clone, Default)]
pub struct Roster {
    known: Arc<Mutex<HashMap<String, ExecutorView>>>,
}

impl Roster {
    /// Follows the scheduler's executor events: registrations are noted, removals dated.
    pub fn watch(&self, scheduler: Scheduler) {
        let roster = self.clone();
        tokio::spawn(async move {
            let mut events = match scheduler.cluster_state_events().await {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!("the web UI cannot follow executor events: {e}");
                    return;
                }
            };
            while let Some(event) = events.next().await {
                match event {
                    ClusterStateEvent::RegisteredExecutor { executor_id } => {
                        let metadata = scheduler
                            .state
                            .executor_manager
                            .get_executor_metadata(&executor_id)
                            .await;
                        if let Ok(m) = metadata {
                            roster.seen(&ExecutorView {
                                id: m.id,
                                host: m.host,
                                flight_port: m.port,
                                grpc_port: m.grpc_port,
                                slots: m.specification.vcores,
                                slots_used: 0,
                                memory_used: None,
                                memory_total: None,
                                last_heartbeat_ms: None,
                                tasks_run: 0,
                                tasks_failed: 0,
                                cached_partitions: 0,
                                cached_bytes: 0,
                                lost_at_ms: None,
                            });
                        }
                    }
                    ClusterStateEvent::RemovedExecutor { executor_id } => {
                        roster.mark_lost(&executor_id, now_ms());
                    }
                }
            }
        });
    }

    /// Notes an executor as it is now (alive).
    pub fn seen(&self, view: &ExecutorView) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(view.id.clone(), view.clone());
    }

    fn mark_lost(&self, id: &str, at: u64) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(view) = known.get_mut(id) {
            view.lost_at_ms.get_or_insert(at);
            view.slots_used = 0;
        }
        let mut lost: Vec<(u64, String)> = known
            .values()
            .filter_map(|v| v.lost_at_ms.map(|at| (at, v.id.clone())))
            .collect();
        if lost.len() > LOST_KEPT {
            lost.sort();
            for (_, id) in &lost[..lost.len() - LOST_KEPT] {
                known.remove(id);
            }
        }
    }

    /// The executors known but not in `alive`, newest loss first; those that went without an
    /// event are dated now.
    pub fn lost(&self, alive: &[String]) -> Vec<ExecutorView> {
        let gone: Vec<String> = {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            known
                .keys()
                .filter(|id| !alive.contains(id))
                .cloned()
                .collect()
        };
        let now = now_ms();
        for id in &gone {
            self.mark_lost(id, now);
        }
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut lost: Vec<ExecutorView> = gone
            .iter()
            .filter_map(|id| known.get(id).cloned())
            .collect();
        lost.sort_by_key(|v| std::cmp::Reverse(v.lost_at_ms));
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executor(id: &str) -> ExecutorView {
        ExecutorView {
            id: id.to_string(),
            host: "h".into(),
            flight_port: 1,
            grpc_port: 2,
            slots: 2,
            slots_used: 1,
            memory_used: None,
            memory_total: None,
            last_heartbeat_ms: None,
            tasks_run: 3,
            tasks_failed: 1,
            cached_partitions: 0,
            cached_bytes: 0,
            lost_at_ms: None,
        }
    }

    #[test]
    fn an_executor_gone_is_lost_once_and_keeps_its_date() {
        let roster = Roster::default();
        roster.seen(&executor("a"));
        roster.seen(&executor("b"));
        assert!(roster.lost(&["a".into(), "b".into()]).is_empty());
        roster.mark_lost("b", 1000);
        let lost = roster.lost(&["a".into()]);
        assert_eq!(lost.len(), 1);
        assert_eq!(
            (lost[0].id.as_str(), lost[0].lost_at_ms, lost[0].slots_used),
            ("b", Some(1000), 0)
        );
        assert_eq!(roster.lost(&["a".into()])[0].lost_at_ms, Some(1000));
        // Gone without an event: dated when first noticed.
        let lost = roster.lost(&[]);
        assert_eq!(lost.len(), 2);
        assert!(lost[0].id == "a" && lost[0].lost_at_ms.unwrap() > 1000);
        // Registered again: alive.
        roster.seen(&executor("a"));
        assert_eq!(roster.lost(&["a".into()]).len(), 1);
    }
}
