//! The framework's event loop: subscribe (again, with the same framework id, after a broken
//! stream or missed heartbeats), launch executors from offers and decline the rest, acknowledge
//! status updates, relaunch executors that end, give resources back when idle, and tear down.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::master::{Events, Master, Subscription};
use super::offers::{decide, Decision};
use super::options::Settings;
use super::proto::scheduler::{call, event, Call, Event};
use super::proto::{
    offer, task_status, FrameworkId, FrameworkInfo, Offer, OfferId, TaskId, TaskState, TaskStatus,
};
use super::task::executor_task;
use super::MesosError;

/// What the framework asks of, and tells, the scheduler it places executors for.
#[async_trait::async_trait]
pub trait Cluster: Send + Sync + 'static {
    /// Whether jobs are queued or running (executors are wanted).
    fn busy(&self) -> bool;
    /// Executor `id`'s task ended: its work is to be run elsewhere now, without waiting for its
    /// heartbeats to stop.
    async fn executor_ended(&self, id: &str, reason: &str);
}

/// A running framework.
pub struct FrameworkHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), MesosError>>,
}

impl FrameworkHandle {
    /// Starts the framework of `settings` for `cluster`.
    pub fn start(settings: Settings, cluster: Arc<dyn Cluster>) -> Result<Self, MesosError> {
        let master = Master::new(&settings)?;
        let (stop, stopped) = watch::channel(false);
        let framework = Framework::new(settings, master, cluster);
        Ok(FrameworkHandle {
            stop,
            task: tokio::spawn(framework.run(stopped)),
        })
    }

    /// Kills the executors, tears the framework down, and returns how it ended.
    pub async fn shutdown(self) -> Result<(), MesosError> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// A handle that stops the framework while [`FrameworkHandle::wait`] waits for it to end.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// Waits until the framework ends: stopped, or an error (wrong credentials, removed by the
    /// master).
    pub async fn wait(self) -> Result<(), MesosError> {
        self.task.await.unwrap_or_else(|e| {
            Err(MesosError::Protocol {
                master: "(framework)".into(),
                reason: format!("the framework's task ended abnormally: {e}"),
            })
        })
    }
}

/// Stops a framework that another task waits on.
pub struct StopHandle(watch::Sender<bool>);

impl StopHandle {
    /// Tells the framework to kill its executors and tear down, and waits until it has.
    pub async fn shutdown(self) -> Result<(), MesosError> {
        let _ = self.0.send(true);
        self.0.closed().await;
        Ok(())
    }
}

/// An executor task not yet ended.
struct Task {
    agent: String,
    cpus: f64,
}

/// How a subscription ended.
enum Ended {
    Stopped,
    /// To subscribe again: the stream broke, or heartbeats stopped.
    Lost(String),
}

struct Framework {
    settings: Settings,
    master: Master,
    cluster: Arc<dyn Cluster>,
    framework_id: Option<FrameworkId>,
    tasks: HashMap<String, Task>,
    launched: u64,
    failures: HashMap<String, u32>,
    blocked: HashSet<String>,
    suppressed: bool,
    /// Idle: the executors were killed and offers are suppressed until a job comes.
    released: bool,
    last_busy: Instant,
    heartbeat: Duration,
}

/// Heartbeats missed before the stream is taken as broken (Mesos' docs advise about five).
const MISSED_HEARTBEATS: u32 = 5;
/// How often the framework looks at the scheduler's jobs.
const TICK: Duration = Duration::from_millis(250);
/// How long a framework told to stop keeps trying to reach a master to tear itself down.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl Framework {
    fn new(settings: Settings, master: Master, cluster: Arc<dyn Cluster>) -> Self {
        Framework {
            settings,
            master,
            cluster,
            framework_id: None,
            tasks: HashMap::new(),
            launched: 0,
            failures: HashMap::new(),
            blocked: HashSet::new(),
            suppressed: false,
            released: false,
            last_busy: Instant::now(),
            heartbeat: Duration::from_secs(15),
        }
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), MesosError> {
        let mut backoff = Duration::from_millis(500);
        let mut stopping_since: Option<Instant> = None;
        let started = Instant::now();
        loop {
            let stopping = *stop.borrow();
            if stopping {
                // Subscribed once, the framework must subscribe again to tear itself down.
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if self.framework_id.is_none() || since.elapsed() > STOP_GRACE {
                    if let Some(id) = &self.framework_id {
                        tracing::error!(framework_id = %id.value,
                            "no master answered: Mesos kills the executors after the failover timeout");
                    }
                    return Ok(());
                }
            }
            let subscribe = self.subscribe_call();
            let subscribed = tokio::select! {
                result = self.master.subscribe(&subscribe) => result,
                _ = stopped(&mut stop), if !stopping && self.framework_id.is_none() => return Ok(()),
            };
            let ended = match subscribed {
                Ok((subscription, mut events)) => {
                    backoff = Duration::from_millis(500);
                    self.subscribed(&subscription, &mut events, &mut stop)
                        .await?
                }
                // Never subscribed, past the timeout: the masters are wrong or down.
                Err(e)
                    if self.framework_id.is_none()
                        && started.elapsed() >= self.settings.subscribe_timeout =>
                {
                    return Err(e)
                }
                Err(e) if e.is_transient() => Ended::Lost(e.to_string()),
                Err(e) => return Err(e),
            };
            match ended {
                Ended::Stopped => return Ok(()),
                Ended::Lost(reason) => {
                    tracing::warn!(%reason, retry_in = ?backoff,
                        framework_id = ?self.framework_id.as_ref().map(|f| &f.value),
                        "Mesos subscription lost; subscribing again");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stopped(&mut stop), if !stopping => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(15));
        }
    }

    /// Serves one subscription until it breaks or the framework stops.
    async fn subscribed(
        &mut self,
        subscription: &Subscription,
        events: &mut Events,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ended, MesosError> {
        let mut last_event = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        loop {
            let watchdog = last_event + self.heartbeat * MISSED_HEARTBEATS;
            let step = tokio::select! {
                event = events.next_event() => {
                    last_event = Instant::now();
                    match event {
                        Ok(Some(event)) => self.on_event(subscription, event).await,
                        Ok(None) => Err(Lost("the master closed the event stream".into())),
                        Err(e) if e.is_fatal() => return Err(e),
                        Err(e) => Err(Lost(e.to_string())),
                    }
                }
                _ = tokio::time::sleep_until(watchdog.into()) => Err(Lost(format!(
                    "no event from the master for {:?} ({MISSED_HEARTBEATS} heartbeats)",
                    self.heartbeat * MISSED_HEARTBEATS
                ))),
                _ = tick.tick() => self.on_tick(subscription).await,
                _ = stopped(stop) => {
                    self.teardown(subscription).await;
                    return Ok(Ended::Stopped);
                }
            };
            match step {
                Ok(()) => {}
                Err(Lost(reason)) => return Ok(Ended::Lost(reason)),
                Err(Fatal(e)) => return Err(e),
            }
        }
    }

    fn subscribe_call(&mut self) -> Call {
        self.suppressed = !self.wants_executors();
        let s = &self.settings;
        Call {
            framework_id: self.framework_id.clone(),
            r#type: Some(call::Type::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info: FrameworkInfo {
                    user: s.user.clone(),
                    name: s.name.clone(),
                    id: self.framework_id.clone(),
                    roles: vec![s.role.clone()],
                    principal: s.credentials.as_ref().map(|(p, _)| p.clone()),
                    failover_timeout: Some(s.failover_timeout),
                    checkpoint: Some(false),
                    hostname: Some(s.scheduler_host.clone()),
                    webui_url: s.webui_url.clone(),
                    capabilities: vec![super::proto::framework_info::Capability {
                        r#type: Some(
                            super::proto::framework_info::capability::Type::MultiRole as i32,
                        ),
                    }],
                    ..Default::default()
                },
                suppressed_roles: if self.suppressed {
                    vec![s.role.clone()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Whether offers are wanted: not idle, and cores left to take.
    fn wants_executors(&self) -> bool {
        !self.released
            && self
                .settings
                .wanted
                .cores_max
                .is_none_or(|max| self.held_cores() < max)
    }

    fn held_cores(&self) -> f64 {
        self.tasks.values().map(|t| t.cpus).sum()
    }

    fn call(&self, r#type: call::Type) -> Call {
        Call {
            framework_id: self.framework_id.clone(),
            r#type: Some(r#type as i32),
            ..Default::default()
        }
    }

    /// Sends `call`: a broken connection or a master that no longer knows the subscription
    /// ends it; any other refusal is logged, as the framework can go on without that call.
    async fn send(&self, subscription: &Subscription, call: Call) -> Result<(), Step> {
        match self.master.call(subscription, &call).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_fatal() => Err(Fatal(e)),
            Err(e @ (MesosError::Unreachable { .. } | MesosError::Refused { status: 403, .. })) => {
                Err(Lost(e.to_string()))
            }
            Err(e) => {
                tracing::error!(error = %e, "Mesos master refused a call");
                Ok(())
            }
        }
    }

    async fn on_event(&mut self, subscription: &Subscription, event: Event) -> Result<(), Step> {
        let Some(kind) = event.r#type.and_then(|t| event::Type::try_from(t).ok()) else {
            return Ok(());
        };
        match kind {
            event::Type::Subscribed => {
                let subscribed = event.subscribed.unwrap_or_default();
                tracing::info!(framework_id = %subscribed.framework_id.value, leader = %subscription.leader,
                    "subscribed to Mesos");
                self.framework_id = Some(subscribed.framework_id);
                if let Some(seconds) = subscribed.heartbeat_interval_seconds {
                    self.heartbeat = Duration::from_secs_f64(seconds.max(0.05));
                }
                self.reconcile(subscription).await?;
            }
            event::Type::Offers => {
                let offers = event.offers.unwrap_or_default().offers;
                self.on_offers(subscription, offers).await?;
            }
            event::Type::Update => {
                if let Some(update) = event.update {
                    self.on_update(subscription, update.status).await?;
                }
            }
            event::Type::Rescind => {
                let offer = event.rescind.map(|r| r.offer_id.value).unwrap_or_default();
                tracing::info!(%offer, "Mesos rescinded an offer");
            }
            event::Type::Failure => {
                let failure = event.failure.unwrap_or_default();
                tracing::warn!(agent = ?failure.agent_id.map(|a| a.value), executor = ?failure.executor_id.map(|e| e.value),
                    status = ?failure.status, "Mesos reports a failure");
            }
            event::Type::Error => {
                let message = event.error.map(|e| e.message).unwrap_or_default();
                return Err(Fatal(MesosError::Removed {
                    master: subscription.leader.to_string(),
                    message,
                }));
            }
            _ => {}
        }
        Ok(())
    }

    /// Asks the master for the state of the tasks this framework thinks it has, which may have
    /// ended while it was disconnected.
    async fn reconcile(&self, subscription: &Subscription) -> Result<(), Step> {
        if self.tasks.is_empty() {
            return Ok(());
        }
        let mut reconcile = self.call(call::Type::Reconcile);
        reconcile.reconcile = Some(call::Reconcile {
            tasks: self
                .tasks
                .iter()
                .map(|(id, task)| call::reconcile::Task {
                    task_id: TaskId { value: id.clone() },
                    agent_id: Some(super::proto::AgentId {
                        value: task.agent.clone(),
                    }),
                })
                .collect(),
        });
        self.send(subscription, reconcile).await
    }

    async fn on_offers(
        &mut self,
        subscription: &Subscription,
        offers: Vec<Offer>,
    ) -> Result<(), Step> {
        let decisions = if self.released {
            offers
                .iter()
                .map(|_| Decision::Decline {
                    refuse_seconds: Some(self.settings.wanted.refuse_seconds),
                    reason: "idle: no executor wanted".into(),
                })
                .collect()
        } else {
            decide(
                &offers,
                self.held_cores(),
                &self.settings.wanted,
                &self.blocked,
            )
        };
        let mut declined: Vec<(Option<f64>, OfferId)> = Vec::new();
        for (offer, decision) in offers.iter().zip(decisions) {
            match decision {
                Decision::Accept(launches) => {
                    let tasks = launches
                        .iter()
                        .map(|launch| {
                            self.launched += 1;
                            let id = format!(
                                "{}-executor-{}",
                                self.framework_id.as_ref().map_or("ardent", |f| &f.value),
                                self.launched
                            );
                            self.tasks.insert(
                                id.clone(),
                                Task {
                                    agent: offer.agent_id.value.clone(),
                                    cpus: launch.cpus,
                                },
                            );
                            executor_task(&self.settings, offer, &id, launch)
                        })
                        .collect::<Vec<_>>();
                    tracing::info!(agent = %offer.agent_id.value, host = %offer.hostname,
                        executors = tasks.len(), held_cores = self.held_cores(), "launching executors");
                    let mut accept = self.call(call::Type::Accept);
                    accept.accept = Some(call::Accept {
                        offer_ids: vec![offer.id.clone()],
                        operations: vec![offer::Operation {
                            r#type: Some(offer::operation::Type::Launch as i32),
                            launch: Some(offer::operation::Launch { task_infos: tasks }),
                            ..Default::default()
                        }],
                        filters: None,
                    });
                    self.send(subscription, accept).await?;
                }
                Decision::Decline {
                    refuse_seconds,
                    reason,
                } => {
                    tracing::debug!(offer = %offer.id.value, agent = %offer.agent_id.value, %reason, "declining");
                    declined.push((refuse_seconds, offer.id.clone()));
                }
            }
        }
        for refuse_seconds in [None, Some(self.settings.wanted.refuse_seconds)] {
            let offer_ids: Vec<OfferId> = declined
                .iter()
                .filter(|(r, _)| *r == refuse_seconds)
                .map(|(_, id)| id.clone())
                .collect();
            if offer_ids.is_empty() {
                continue;
            }
            let mut decline = self.call(call::Type::Decline);
            decline.decline = Some(call::Decline {
                offer_ids,
                filters: refuse_seconds.map(|s| super::proto::Filters {
                    refuse_seconds: Some(s),
                }),
            });
            self.send(subscription, decline).await?;
        }
        self.steer_offers(subscription).await
    }

    /// Suppresses offers when no more executors are wanted, revives them when some are.
    async fn steer_offers(&mut self, subscription: &Subscription) -> Result<(), Step> {
        let wanted = self.wants_executors();
        // Offers already flow exactly when wanted.
        if wanted != self.suppressed {
            return Ok(());
        }
        let roles = vec![self.settings.role.clone()];
        let call = if wanted {
            let mut revive = self.call(call::Type::Revive);
            revive.revive = Some(call::Revive { roles });
            revive
        } else {
            let mut suppress = self.call(call::Type::Suppress);
            suppress.suppress = Some(call::Suppress { roles });
            suppress
        };
        self.send(subscription, call).await?;
        self.suppressed = !wanted;
        tracing::debug!(suppressed = self.suppressed, "offers steered");
        Ok(())
    }

    async fn on_update(
        &mut self,
        subscription: &Subscription,
        status: TaskStatus,
    ) -> Result<(), Step> {
        if let (Some(uuid), Some(agent)) = (&status.uuid, &status.agent_id) {
            let mut acknowledge = self.call(call::Type::Acknowledge);
            acknowledge.acknowledge = Some(call::Acknowledge {
                agent_id: agent.clone(),
                task_id: status.task_id.clone(),
                uuid: uuid.clone(),
            });
            self.send(subscription, acknowledge).await?;
        }
        let id = &status.task_id.value;
        let state = TaskState::try_from(status.state).unwrap_or(TaskState::TaskUnknown);
        if !is_terminal(state) {
            tracing::debug!(task = %id, state = state.as_str_name(), "executor task");
            return Ok(());
        }
        let Some(task) = self.tasks.remove(id) else {
            return Ok(()); // a resent update of a task already ended
        };
        let reason = status
            .reason
            .and_then(|r| task_status::Reason::try_from(r).ok());
        let why = format!(
            "{}{}{}",
            state.as_str_name(),
            reason
                .map(|r| format!(" ({})", r.as_str_name()))
                .unwrap_or_default(),
            status
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        if counts_against_agent(state, reason) {
            let failures = self.failures.entry(task.agent.clone()).or_default();
            *failures += 1;
            if *failures >= self.settings.max_agent_failures
                && self.blocked.insert(task.agent.clone())
            {
                tracing::warn!(agent = %task.agent, failures = *failures,
                    "agent failed too many executors: it gets no more");
            }
            tracing::warn!(task = %id, agent = %task.agent, reason = %why, "executor task failed");
        } else {
            tracing::info!(task = %id, agent = %task.agent, reason = %why, "executor task ended");
        }
        self.cluster.executor_ended(id, &why).await;
        self.steer_offers(subscription).await
    }

    async fn on_tick(&mut self, subscription: &Subscription) -> Result<(), Step> {
        if self.cluster.busy() {
            self.last_busy = Instant::now();
            if self.released {
                tracing::info!("a job came: taking offers again");
                self.released = false;
            }
        } else if let Some(idle) = self.settings.idle {
            if !self.released && self.last_busy.elapsed() >= idle {
                tracing::info!(idle = ?idle, executors = self.tasks.len(),
                    "no job: killing the executors and giving their resources back");
                self.released = true;
                self.kill_all(subscription).await?;
            }
        }
        self.steer_offers(subscription).await
    }

    async fn kill_all(&self, subscription: &Subscription) -> Result<(), Step> {
        for (id, task) in &self.tasks {
            let mut kill = self.call(call::Type::Kill);
            kill.kill = Some(call::Kill {
                task_id: TaskId { value: id.clone() },
                agent_id: Some(super::proto::AgentId {
                    value: task.agent.clone(),
                }),
                ..Default::default()
            });
            self.send(subscription, kill).await?;
        }
        Ok(())
    }

    /// Kills the executors and removes the framework, so Mesos holds nothing for it.
    async fn teardown(&mut self, subscription: &Subscription) {
        let result = match self.kill_all(subscription).await {
            Ok(()) => {
                self.send(subscription, self.call(call::Type::Teardown))
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => tracing::info!(executors = self.tasks.len(), "framework torn down"),
            Err(Lost(reason) | Fatal(MesosError::Unreachable { reason, .. })) => {
                tracing::error!(%reason, "could not tear the framework down: Mesos kills its executors after the failover timeout")
            }
            Err(Fatal(e)) => tracing::error!(error = %e, "could not tear the framework down"),
        }
        self.tasks.clear();
    }
}

/// Returns once the framework is told to stop (or its handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Why a step of the subscription cannot go on.
enum Step {
    Lost(String),
    Fatal(MesosError),
}
use Step::{Fatal, Lost};

fn is_terminal(state: TaskState) -> bool {
    !matches!(
        state,
        TaskState::TaskStaging
            | TaskState::TaskStarting
            | TaskState::TaskRunning
            | TaskState::TaskKilling
    )
}

/// Whether an ended task tells against its agent: it failed there, not because the framework
/// killed it or its offer was withdrawn.
fn counts_against_agent(state: TaskState, reason: Option<task_status::Reason>) -> bool {
    use task_status::Reason;
    matches!(
        state,
        TaskState::TaskFailed | TaskState::TaskLost | TaskState::TaskError | TaskState::TaskGone
    ) && !matches!(reason, Some(Reason::InvalidOffers | Reason::Reconciliation))
}

impl MesosError {
    /// Whether asking again (another master, later) could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MesosError::Unreachable { .. } | MesosError::Stream(_) | MesosError::Event(_)
        )
    }

    /// Whether the framework cannot go on: the master refuses it for good.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            MesosError::Unauthorized { .. }
                | MesosError::Removed { .. }
                | MesosError::TlsHandshake { .. }
        )
    }
}
