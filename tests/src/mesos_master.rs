//! A fake Mesos master for the framework's tests, since no real one can run here. It speaks the
//! v1 scheduler HTTP API as Mesos 1.11's master does (notes/deployment.md, section 1) and is
//! strict about it: status codes (202, 400, 401, 403, 307 with a protocol-relative Location,
//! 406, 415, 503), stream ids, framework ids, offer ids, resources within the offer, port
//! ranges, decline filters, status updates resent until acknowledged, heartbeats. It reads the
//! framework's JSON by hand, not with the framework's own codec, so that a mistake there shows.
//!
//! Its agents run the launched tasks: as processes of the `ardent-executor` binary with the
//! task's arguments (what the executor image's entrypoint would run), or held as running
//! without a process, for tests of the protocol alone.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// What runs an accepted task.
#[derive(Clone, Debug)]
pub enum Runner {
    /// The task is reported running; nothing runs.
    Hold,
    /// The task's arguments are given to this executor binary, run as a process; its output
    /// goes to `logs`.
    Process { executor: PathBuf, logs: PathBuf },
    /// The task runs as a container of its image, as Mesos' Docker containerizer runs it
    /// (notes/deployment.md 1.6): `docker run` on the host's network with the task's volumes,
    /// parameters, cpu shares and memory, the image's entrypoint given the task's arguments.
    Docker { logs: PathBuf },
}

/// A task's process: the executor itself, or the `docker run` of its container.
struct Running {
    child: Child,
    container: Option<String>,
}

impl Running {
    /// Kills the task; its exit is reported by the next tick.
    fn kill(&mut self) {
        if let Some(name) = &self.container {
            // Killing `docker run` would leave its container running.
            let _ = Command::new("docker")
                .args(["rm", "-f", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
    }

    /// Kills the task and waits for it to end.
    fn stop(&mut self) {
        self.kill();
        let _ = self.child.wait();
    }
}

/// An agent of the fake cluster.
#[derive(Clone, Debug)]
pub struct Agent {
    pub id: String,
    pub hostname: String,
    pub cpus: f64,
    pub mem: f64,
    /// Ports offered, as single-port ranges (free on loopback when the agent was made).
    pub ports: Vec<u64>,
    /// TEXT attributes.
    pub attributes: Vec<(String, String)>,
}

impl Agent {
    /// An agent on loopback with `cpus` cores, 16 GB and `ports` free ports.
    pub fn local(id: &str, cpus: f64, ports: usize) -> Agent {
        Agent {
            id: id.to_string(),
            hostname: "127.0.0.1".to_string(),
            cpus,
            mem: 16384.0,
            ports: (0..ports).map(|_| u64::from(free_port())).collect(),
            attributes: Vec::new(),
        }
    }
}

/// TLS of the fake master's port: PEM certificate, key and, to require client certificates,
/// the CA that signs them.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub cert: String,
    pub key: String,
    pub client_ca: Option<String>,
}

/// How the fake cluster is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Masters listening; `leader` leads, the others redirect to it.
    pub masters: usize,
    pub leader: usize,
    pub agents: Vec<Agent>,
    pub runner: Runner,
    /// HTTP Basic principal and secret every call must carry.
    pub credentials: Option<(String, String)>,
    pub tls: Option<ServerTls>,
    pub heartbeat: Duration,
    /// Unacknowledged status updates are sent again after this long.
    pub resend: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            masters: 1,
            leader: 0,
            agents: Vec::new(),
            runner: Runner::Hold,
            credentials: None,
            tls: None,
            heartbeat: Duration::from_millis(300),
            resend: Duration::from_millis(500),
        }
    }
}

/// A call the master took, as sent.
#[derive(Clone, Debug)]
pub struct Received {
    pub kind: String,
    pub body: Value,
    pub status: u16,
}

/// A task as the master knows it.
#[derive(Clone, Debug)]
pub struct TaskView {
    pub id: String,
    pub agent: String,
    pub state: String,
    pub cpus: f64,
    pub arguments: Vec<String>,
    pub image: String,
}

/// What tests look at.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub calls: Vec<Received>,
    pub tasks: Vec<TaskView>,
    /// Ids of frameworks subscribed now.
    pub connected: Vec<String>,
    /// Status updates sent again because they were not acknowledged.
    pub resent: usize,
    /// Offers made, and the ids of those rescinded.
    pub offers_made: usize,
    pub rescinded: Vec<String>,
    /// Status updates waiting for their acknowledgement.
    pub unacked: usize,
}

impl View {
    pub fn calls_of(&self, kind: &str) -> Vec<&Received> {
        self.calls.iter().filter(|c| c.kind == kind).collect()
    }

    pub fn running(&self) -> Vec<&TaskView> {
        self.tasks
            .iter()
            .filter(|t| {
                matches!(
                    t.state.as_str(),
                    "TASK_STAGING" | "TASK_STARTING" | "TASK_RUNNING"
                )
            })
            .collect()
    }
}

/// The fake master: listeners on loopback and the cluster's state; stops (killing every task
/// process) when dropped.
pub struct FakeMesos {
    state: Arc<Mutex<Cluster>>,
    addresses: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    tls: bool,
}

struct Framework {
    id: String,
    principal: Option<String>,
    stream_id: Option<String>,
    events: Option<mpsc::UnboundedSender<Bytes>>,
    suppressed: bool,
    /// Per agent: no offers until then.
    filters: HashMap<String, Instant>,
    /// Per task: updates not yet acknowledged, oldest first, and when the head was last sent.
    unacked: HashMap<String, (VecDeque<(String, Value)>, Instant)>,
    failover_timeout: f64,
    disconnected_at: Option<Instant>,
}

struct Offer {
    framework: String,
    agent: String,
    cpus: f64,
    mem: f64,
    ports: Vec<u64>,
}

struct Task {
    framework: String,
    agent: String,
    state: String,
    cpus: f64,
    mem: f64,
    ports: Vec<u64>,
    arguments: Vec<String>,
    image: String,
    process: Option<Running>,
}

struct Cluster {
    config: Config,
    leader: usize,
    electing: bool,
    heartbeats: bool,
    rescind_next: bool,
    ignore_acks: usize,
    addresses: Vec<SocketAddr>,
    frameworks: HashMap<String, Framework>,
    offers: HashMap<String, Offer>,
    tasks: HashMap<String, Task>,
    lost_agents: Vec<String>,
    next: u64,
    view: View,
    last_heartbeat: Instant,
}

type Shared = Arc<Mutex<Cluster>>;

impl FakeMesos {
    /// Starts `config.masters` masters on loopback.
    pub async fn start(config: Config) -> FakeMesos {
        let mut listeners = Vec::new();
        for _ in 0..config.masters {
            listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let addresses: Vec<SocketAddr> =
            listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let tls = config.tls.clone();
        let state = Arc::new(Mutex::new(Cluster {
            leader: config.leader,
            config,
            electing: false,
            heartbeats: true,
            rescind_next: false,
            ignore_acks: 0,
            addresses: addresses.clone(),
            frameworks: HashMap::new(),
            offers: HashMap::new(),
            tasks: HashMap::new(),
            lost_agents: Vec::new(),
            next: 0,
            view: View::default(),
            last_heartbeat: Instant::now(),
        }));
        let mut tasks = Vec::new();
        for (index, listener) in listeners.into_iter().enumerate() {
            let router = axum::Router::new()
                .route("/api/v1/scheduler", axum::routing::post(scheduler_call))
                .route(
                    "/master/api/v1/scheduler",
                    axum::routing::post(scheduler_call),
                )
                .route("/state", axum::routing::get(state_json))
                .with_state((Arc::clone(&state), index));
            let serve: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = match &tls
            {
                None => Box::pin(async move {
                    let _ = axum::serve(listener, router).await;
                }),
                Some(tls) => {
                    let listener = TlsListener {
                        tcp: listener,
                        acceptor: acceptor(tls),
                    };
                    Box::pin(async move {
                        let _ = axum::serve(listener, router).await;
                    })
                }
            };
            tasks.push(tokio::spawn(serve));
        }
        let ticking = Arc::clone(&state);
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                ticking.lock().unwrap().tick();
            }
        }));
        FakeMesos {
            state,
            addresses,
            tasks,
            tls: tls.is_some(),
        }
    }

    /// The masters as a master URL: `mesos://h1:p1,h2:p2` (or `https://` under TLS).
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.addresses.iter().map(|a| a.to_string()).collect();
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", hosts.join(","))
    }

    pub fn view(&self) -> View {
        self.state.lock().unwrap().view.clone()
    }

    /// Waits until `done` holds of the view, failing with `what` after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&View) -> bool,
    ) -> View {
        let deadline = Instant::now() + timeout;
        loop {
            let view = self.view();
            if done(&view) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; calls: {:?}; tasks: {:?}",
                view.calls
                    .iter()
                    .map(|c| (&c.kind, c.status))
                    .collect::<Vec<_>>(),
                view.tasks
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// While electing, every master answers 503 "No leader elected".
    pub fn electing(&self, on: bool) {
        self.state.lock().unwrap().electing = on;
    }

    /// Stops (or restarts) the heartbeats, keeping the streams open.
    pub fn heartbeats(&self, on: bool) {
        self.state.lock().unwrap().heartbeats = on;
    }

    /// Takes the next `n` acknowledgements (202) without acting on them, as when one is lost
    /// on its way: the updates they acknowledged are sent again.
    pub fn ignore_acks(&self, n: usize) {
        self.state.lock().unwrap().ignore_acks = n;
    }

    /// Rescinds the next offer right after making it.
    pub fn rescind_next_offer(&self) {
        self.state.lock().unwrap().rescind_next = true;
    }

    /// Another master takes the lead: the streams of the old leader close, and every other
    /// master redirects to `leader`.
    pub fn fail_over(&self, leader: usize) {
        let mut cluster = self.state.lock().unwrap();
        cluster.leader = leader;
        for framework in cluster.frameworks.values_mut() {
            framework.events = None;
            framework.stream_id = None;
            framework.disconnected_at = Some(Instant::now());
        }
    }

    /// The task fails on its agent (its process is killed).
    pub fn fail_task(&self, task: &str) {
        let mut cluster = self.state.lock().unwrap();
        if let Some(process) = cluster.tasks.get_mut(task).and_then(|t| t.process.as_mut()) {
            process.kill();
            return; // the tick reports the exit
        }
        cluster.set_state(
            task,
            "TASK_FAILED",
            Some("REASON_COMMAND_EXECUTOR_FAILED"),
            "exit status 1",
        );
    }

    /// The agent is lost: its tasks' processes are killed, its tasks reported lost, and it
    /// makes no more offers.
    pub fn lose_agent(&self, agent: &str) {
        let mut cluster = self.state.lock().unwrap();
        cluster.lost_agents.push(agent.to_string());
        cluster.offers.retain(|_, o| o.agent != agent);
        let ids: Vec<String> = cluster
            .tasks
            .iter()
            .filter(|(_, t)| t.agent == agent && !terminal(&t.state))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(mut process) = cluster.tasks.get_mut(&id).and_then(|t| t.process.take()) {
                process.stop();
            }
            cluster.set_state(&id, "TASK_LOST", Some("REASON_AGENT_REMOVED"), "agent lost");
        }
        let frameworks: Vec<String> = cluster.frameworks.keys().cloned().collect();
        for framework in frameworks {
            cluster.send(
                &framework,
                json!({"type": "FAILURE", "failure": {"agent_id": {"value": agent}}}),
            );
        }
    }
}

impl Drop for FakeMesos {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let mut cluster = self.state.lock().unwrap();
        for task in cluster.tasks.values_mut() {
            if let Some(mut process) = task.process.take() {
                process.stop();
            }
        }
    }
}

fn terminal(state: &str) -> bool {
    !matches!(
        state,
        "TASK_STAGING" | "TASK_STARTING" | "TASK_RUNNING" | "TASK_KILLING"
    )
}

fn record(payload: Value) -> Bytes {
    let text = payload.to_string();
    Bytes::from(format!("{}\n{text}", text.len()))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, message.to_string()).into_response()
}

/// What the master holds, for tests in other processes (a real master's `/state`, reduced).
async fn state_json(AxumState((state, _)): AxumState<(Shared, usize)>) -> axum::Json<Value> {
    let view = state.lock().unwrap().view.clone();
    axum::Json(json!({
        "calls": view.calls.iter().map(|c| json!({"type": c.kind, "status": c.status})).collect::<Vec<_>>(),
        "tasks": view.tasks.iter().map(|t| json!({"id": t.id, "agent": t.agent, "state": t.state})).collect::<Vec<_>>(),
        "connected": view.connected,
    }))
}

async fn scheduler_call(
    AxumState((state, index)): AxumState<(Shared, usize)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut cluster = state.lock().unwrap();
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let kind = body_json["type"].as_str().unwrap_or("?").to_string();
    let response = cluster.call(index, &headers, body_json.clone());
    cluster.view.calls.push(Received {
        kind,
        body: body_json,
        status: response.status().as_u16(),
    });
    response
}

impl Cluster {
    fn call(&mut self, index: usize, headers: &HeaderMap, call: Value) -> Response {
        match headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Expecting 'Content-Type' to be present",
                )
            }
            Some(t) if t.starts_with("application/json") => {}
            Some(_) => {
                return error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Expecting 'Content-Type' of application/json or application/x-protobuf",
                )
            }
        }
        if self.electing {
            return error(StatusCode::SERVICE_UNAVAILABLE, "No leader elected");
        }
        if index != self.leader {
            let leader = self.addresses[self.leader];
            return Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(
                    header::LOCATION,
                    format!("//{leader}/master/api/v1/scheduler"),
                )
                .body(Body::empty())
                .unwrap();
        }
        let Ok(principal) = self.authenticate(headers) else {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header(header::WWW_AUTHENTICATE, "Basic realm=\"mesos\"")
                .body(Body::empty())
                .unwrap();
        };
        if call.is_null() {
            return error(StatusCode::BAD_REQUEST, "Failed to parse body into JSON");
        }
        let Some(kind) = call["type"].as_str() else {
            return error(
                StatusCode::BAD_REQUEST,
                "Failed to validate scheduler::Call: Expecting 'type' to be present",
            );
        };
        if kind == "SUBSCRIBE" {
            return self.subscribe(headers, &call, principal);
        }
        let Some(id) = call["framework_id"]["value"].as_str() else {
            return error(
                StatusCode::BAD_REQUEST,
                "Failed to validate scheduler::Call: Expecting 'framework_id' to be present",
            );
        };
        let Some(stream) = headers.get("Mesos-Stream-Id").and_then(|v| v.to_str().ok()) else {
            return error(
                StatusCode::BAD_REQUEST,
                "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
            );
        };
        let Some(framework) = self.frameworks.get(id) else {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Framework '{id}' not found"),
            );
        };
        let Some(expected) = &framework.stream_id else {
            return error(StatusCode::FORBIDDEN, "Framework is not subscribed");
        };
        if expected != stream {
            return error(StatusCode::BAD_REQUEST, &format!("The stream ID '{stream}' included in this request didn't match the stream ID currently associated with framework ID {id}"));
        }
        let id = id.to_string();
        let result = match kind {
            "ACCEPT" => self.accept(&id, &call["accept"]),
            "DECLINE" => self.decline(&id, &call["decline"]),
            "REVIVE" => {
                let framework = self.frameworks.get_mut(&id).unwrap();
                framework.filters.clear();
                framework.suppressed = false;
                Ok(())
            }
            "SUPPRESS" => {
                self.frameworks.get_mut(&id).unwrap().suppressed = true;
                Ok(())
            }
            "ACKNOWLEDGE" => self.acknowledge(&id, &call["acknowledge"]),
            "KILL" => {
                match call["kill"]["task_id"]["value"].as_str() {
                    Some(task) => self.kill(task),
                    None => return error(StatusCode::BAD_REQUEST, "Expecting 'kill.task_id'"),
                }
                Ok(())
            }
            "RECONCILE" => self.reconcile(&id, &call["reconcile"]),
            "TEARDOWN" => {
                self.teardown(&id);
                Ok(())
            }
            "MESSAGE" | "REQUEST" | "SHUTDOWN" => Ok(()),
            other => Err(format!("Unknown call type {other}")),
        };
        match result {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(message) => error(StatusCode::BAD_REQUEST, &message),
        }
    }

    /// The principal the call authenticated as; `Err` when it did not.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Option<String>, ()> {
        let Some((principal, secret)) = &self.config.credentials else {
            return Ok(None);
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(())?;
        if given != format!("{principal}:{secret}") {
            return Err(());
        }
        Ok(Some(principal.clone()))
    }

    fn subscribe(
        &mut self,
        headers: &HeaderMap,
        call: &Value,
        principal: Option<String>,
    ) -> Response {
        if headers.contains_key("Mesos-Stream-Id") {
            return error(
                StatusCode::BAD_REQUEST,
                "Subscribe calls should not include the 'Mesos-Stream-Id' header",
            );
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("*/*");
        if !(accept.contains("application/json") || accept.contains("*/*")) {
            return error(
                StatusCode::NOT_ACCEPTABLE,
                "Expecting 'Accept' to allow application/json",
            );
        }
        let info = &call["subscribe"]["framework_info"];
        if info["user"].as_str().is_none() || info["name"].as_str().is_none() {
            return error(StatusCode::BAD_REQUEST, "Failed to convert JSON into Call protobuf: missing required fields: subscribe.framework_info.user, subscribe.framework_info.name");
        }
        let multi_role = info["capabilities"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "MULTI_ROLE"));
        if info.get("roles").is_some() && !multi_role {
            return error(
                StatusCode::BAD_REQUEST,
                "'FrameworkInfo.roles' is set but MULTI_ROLE capability is not",
            );
        }
        if let (Some(given), Some(authenticated)) = (info["principal"].as_str(), &principal) {
            if given != authenticated {
                return error(StatusCode::BAD_REQUEST, &format!("Framework principal '{given}' does not match authenticated principal '{authenticated}'"));
            }
        }
        let top = call["framework_id"]["value"].as_str();
        let inner = info["id"]["value"].as_str();
        if top != inner {
            return error(
                StatusCode::BAD_REQUEST,
                "'framework_id' differs from 'subscribe.framework_info.id'",
            );
        }
        let (sender, receiver) = mpsc::unbounded_channel::<Bytes>();
        let stream_id = uuid::Uuid::new_v4().to_string();
        let id = match inner {
            Some(id) if self.frameworks.contains_key(id) => id.to_string(),
            Some(id) => {
                // A framework the master removed, or never knew.
                let _ = sender.send(record(json!({"type": "ERROR", "error": {"message": format!("Framework {id} has been removed")}})));
                drop(sender);
                return stream_response(receiver, &stream_id);
            }
            None => {
                self.next += 1;
                format!("fake-{}-{:04}", uuid::Uuid::new_v4(), self.next)
            }
        };
        let suppressed = call["subscribe"]["suppressed_roles"]
            .as_array()
            .is_some_and(|r| !r.is_empty());
        let framework = self
            .frameworks
            .entry(id.clone())
            .or_insert_with(|| Framework {
                id: id.clone(),
                principal: principal.clone(),
                stream_id: None,
                events: None,
                suppressed,
                filters: HashMap::new(),
                unacked: HashMap::new(),
                failover_timeout: 0.0,
                disconnected_at: None,
            });
        // One subscription per framework: a new one closes the old stream.
        framework.events = Some(sender);
        framework.stream_id = Some(stream_id.clone());
        framework.suppressed = suppressed;
        framework.failover_timeout = info["failover_timeout"].as_f64().unwrap_or(0.0);
        framework.disconnected_at = None;
        framework.principal = principal;
        let leader = self.addresses[self.leader];
        self.send(&id, json!({"type": "SUBSCRIBED", "subscribed": {
            "framework_id": {"value": id},
            "heartbeat_interval_seconds": self.config.heartbeat.as_secs_f64(),
            "master_info": {"id": "fake-master", "ip": 16777343, "port": leader.port(),
                            "hostname": "127.0.0.1", "version": "1.11.0",
                            "address": {"hostname": "127.0.0.1", "ip": "127.0.0.1", "port": leader.port()}}}}));
        // Updates not yet acknowledged go out again on the new stream.
        if let Some(framework) = self.frameworks.get_mut(&id) {
            for (queue, sent) in framework.unacked.values_mut() {
                if let (Some((_, update)), Some(events)) = (queue.front(), &framework.events) {
                    let _ = events.send(record(update.clone()));
                    *sent = Instant::now();
                }
            }
        }
        stream_response(receiver, &stream_id)
    }

    fn send(&mut self, framework: &str, event: Value) {
        if let Some(events) = self
            .frameworks
            .get(framework)
            .and_then(|f| f.events.as_ref())
        {
            let _ = events.send(record(event));
        }
    }

    fn accept(&mut self, framework: &str, accept: &Value) -> Result<(), String> {
        let offer_ids: Vec<String> = accept["offer_ids"]
            .as_array()
            .ok_or("Expecting 'accept.offer_ids'")?
            .iter()
            .map(|o| {
                o["value"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or("an offer id without 'value'")
            })
            .collect::<Result<_, _>>()?;
        let mut tasks = Vec::new();
        for operation in accept["operations"].as_array().into_iter().flatten() {
            match operation["type"].as_str() {
                Some("LAUNCH") => tasks.extend(
                    operation["launch"]["task_infos"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                ),
                Some("LAUNCH_GROUP") => return Err("the fake master takes LAUNCH only".into()),
                other => return Err(format!("unknown operation type {other:?}")),
            }
        }
        let offers: Vec<Offer> = offer_ids
            .iter()
            .filter_map(|id| self.offers.remove(id))
            .collect();
        let refuse = accept["filters"]["refuse_seconds"].as_f64().unwrap_or(5.0);
        let valid_offers = offers.len() == offer_ids.len()
            && !offers.is_empty()
            && offers
                .iter()
                .all(|o| o.framework == framework && o.agent == offers[0].agent);
        if !valid_offers {
            for task in &tasks {
                let id = task["task_id"]["value"].as_str().unwrap_or("?").to_string();
                let agent = task["agent_id"]["value"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                self.update(
                    framework,
                    &id,
                    &agent,
                    "TASK_LOST",
                    Some("REASON_INVALID_OFFERS"),
                    "Task launched with invalid offers",
                );
            }
            return Ok(());
        }
        let agent = offers[0].agent.clone();
        let mut cpus: f64 = offers.iter().map(|o| o.cpus).sum();
        let mut mem: f64 = offers.iter().map(|o| o.mem).sum();
        let mut ports: Vec<u64> = offers.iter().flat_map(|o| o.ports.clone()).collect();
        for task in tasks {
            let id = task["task_id"]["value"].as_str().unwrap_or("?").to_string();
            match self.validate(&task, &agent, cpus, mem, &ports) {
                Ok((task_cpus, task_mem, task_ports)) => {
                    cpus -= task_cpus;
                    mem -= task_mem;
                    ports.retain(|p| !task_ports.contains(p));
                    self.launch(
                        framework, &id, &agent, &task, task_cpus, task_mem, task_ports,
                    );
                }
                Err(reason) => self.update(
                    framework,
                    &id,
                    &agent,
                    "TASK_ERROR",
                    Some("REASON_TASK_INVALID"),
                    &reason,
                ),
            }
        }
        // What the tasks left of the offers is declined with the accept's filter.
        if let Some(f) = self.frameworks.get_mut(framework) {
            f.filters
                .insert(agent, Instant::now() + Duration::from_secs_f64(refuse));
        }
        Ok(())
    }

    /// A task's cpus, mem and ports, if it is valid within what the offers left.
    fn validate(
        &self,
        task: &Value,
        agent: &str,
        cpus: f64,
        mem: f64,
        ports: &[u64],
    ) -> Result<(f64, f64, Vec<u64>), String> {
        let id = task["task_id"]["value"]
            .as_str()
            .ok_or("a task without task_id")?;
        if task["name"].as_str().is_none() {
            return Err(format!("Task {id} has no name"));
        }
        if self.tasks.contains_key(id) {
            return Err(format!("Task {id} has duplicate ID"));
        }
        if task["agent_id"]["value"].as_str() != Some(agent) {
            return Err(format!("Task {id} names an agent other than its offer's"));
        }
        let mut task_cpus = 0.0;
        let mut task_mem = 0.0;
        let mut task_ports = Vec::new();
        for resource in task["resources"].as_array().into_iter().flatten() {
            match (resource["name"].as_str(), resource["type"].as_str()) {
                (Some("cpus"), Some("SCALAR")) => {
                    task_cpus += resource["scalar"]["value"].as_f64().unwrap_or(0.0)
                }
                (Some("mem"), Some("SCALAR")) => {
                    task_mem += resource["scalar"]["value"].as_f64().unwrap_or(0.0)
                }
                (Some("ports"), Some("RANGES")) => {
                    for range in resource["ranges"]["range"].as_array().into_iter().flatten() {
                        let (Some(begin), Some(end)) =
                            (range["begin"].as_u64(), range["end"].as_u64())
                        else {
                            return Err(format!("Task {id}: a port range without begin and end"));
                        };
                        task_ports.extend(begin..=end);
                    }
                }
                other => return Err(format!("Task {id}: unknown resource {other:?}")),
            }
        }
        if task_cpus <= 0.0 || task_mem <= 0.0 {
            return Err(format!("Task {id} uses no cpus or no mem"));
        }
        if task_cpus > cpus + 1e-9 || task_mem > mem + 1e-9 {
            return Err(format!("Task {id} uses more resources than offered: cpus {task_cpus} of {cpus}, mem {task_mem} of {mem}"));
        }
        if let Some(port) = task_ports.iter().find(|p| !ports.contains(p)) {
            return Err(format!(
                "Task {id} uses port {port}, which is not in the offer"
            ));
        }
        let container = &task["container"];
        if container["type"] != "DOCKER" || container["docker"]["image"].as_str().is_none() {
            return Err(format!(
                "Task {id}: expected a DOCKER container with an image"
            ));
        }
        if task["command"]["shell"] != false {
            return Err(format!(
                "Task {id}: expected 'shell': false, to keep the image's entrypoint"
            ));
        }
        Ok((task_cpus, task_mem, task_ports))
    }

    #[allow(clippy::too_many_arguments)]
    fn launch(
        &mut self,
        framework: &str,
        id: &str,
        agent: &str,
        task: &Value,
        cpus: f64,
        mem: f64,
        ports: Vec<u64>,
    ) {
        let arguments: Vec<String> = task["command"]["arguments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        let image = task["container"]["docker"]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let process = match &self.config.runner {
            Runner::Hold => None,
            Runner::Process { executor, logs } => {
                let mut command = Command::new(executor);
                command.args(&arguments);
                Some(spawn(command, logs, id, None))
            }
            Runner::Docker { logs } => {
                let container = format!("mesos-{id}");
                let mut command = Command::new("docker");
                command.args(["run", "--rm", "--name", &container, "--net", "host"]);
                command.arg(format!("--cpu-shares={}", (cpus * 1024.0) as u64));
                command.arg(format!("--memory={}m", mem as u64));
                for volume in task["container"]["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let (Some(host), Some(path)) = (
                        volume["host_path"].as_str(),
                        volume["container_path"].as_str(),
                    ) {
                        let mode = volume["mode"].as_str().unwrap_or("RW").to_lowercase();
                        command.arg("-v").arg(format!("{host}:{path}:{mode}"));
                    }
                }
                let parameters = task["container"]["docker"]["parameters"].as_array();
                for parameter in parameters.into_iter().flatten() {
                    if let (Some(key), Some(value)) =
                        (parameter["key"].as_str(), parameter["value"].as_str())
                    {
                        command.arg(format!("--{key}={value}"));
                    }
                }
                command.arg(&image).args(&arguments);
                Some(spawn(command, logs, id, Some(container)))
            }
        };
        self.tasks.insert(
            id.to_string(),
            Task {
                framework: framework.to_string(),
                agent: agent.to_string(),
                state: "TASK_STAGING".into(),
                cpus,
                mem,
                ports,
                arguments,
                image,
                process,
            },
        );
        self.set_state(id, "TASK_STARTING", None, "");
        self.set_state(id, "TASK_RUNNING", None, "");
    }

    /// Sets a task's state and sends the framework the update.
    fn set_state(&mut self, id: &str, state: &str, reason: Option<&str>, message: &str) {
        let Some(task) = self.tasks.get_mut(id) else {
            return;
        };
        if terminal(&task.state) {
            return;
        }
        task.state = state.to_string();
        let (framework, agent) = (task.framework.clone(), task.agent.clone());
        self.update(&framework, id, &agent, state, reason, message);
    }

    fn update(
        &mut self,
        framework: &str,
        task: &str,
        agent: &str,
        state: &str,
        reason: Option<&str>,
        message: &str,
    ) {
        let uuid =
            base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
        let mut status = json!({"task_id": {"value": task}, "state": state, "source": "SOURCE_EXECUTOR",
            "agent_id": {"value": agent}, "timestamp": 1.0, "uuid": uuid, "message": message});
        if let Some(reason) = reason {
            status["reason"] = json!(reason);
        }
        let update = json!({"type": "UPDATE", "update": {"status": status}});
        let Some(f) = self.frameworks.get_mut(framework) else {
            return;
        };
        let (queue, sent) = f
            .unacked
            .entry(task.to_string())
            .or_insert_with(|| (VecDeque::new(), Instant::now()));
        queue.push_back((uuid, update.clone()));
        // Later updates of a task wait behind the one not yet acknowledged.
        if queue.len() == 1 {
            *sent = Instant::now();
            self.send(framework, update);
        }
        self.refresh_view();
    }

    fn acknowledge(&mut self, framework: &str, ack: &Value) -> Result<(), String> {
        let task = ack["task_id"]["value"]
            .as_str()
            .ok_or("Expecting 'acknowledge.task_id'")?;
        let uuid = ack["uuid"].as_str().ok_or("Expecting 'acknowledge.uuid'")?;
        if ack["agent_id"]["value"].as_str().is_none() {
            return Err("Expecting 'acknowledge.agent_id'".into());
        }
        if self.ignore_acks > 0 {
            self.ignore_acks -= 1;
            return Ok(());
        }
        let f = self.frameworks.get_mut(framework).unwrap();
        let Some((queue, sent)) = f.unacked.get_mut(task) else {
            return Ok(());
        };
        if queue.front().is_some_and(|(u, _)| u == uuid) {
            queue.pop_front();
            if let (Some((_, next)), Some(events)) = (queue.front(), &f.events) {
                let _ = events.send(record(next.clone()));
                *sent = Instant::now();
            }
        }
        Ok(())
    }

    fn decline(&mut self, framework: &str, decline: &Value) -> Result<(), String> {
        let refuse = decline["filters"]["refuse_seconds"].as_f64().unwrap_or(5.0);
        for id in decline["offer_ids"]
            .as_array()
            .ok_or("Expecting 'decline.offer_ids'")?
        {
            let id = id["value"].as_str().ok_or("an offer id without 'value'")?;
            if let Some(offer) = self.offers.remove(id) {
                if let Some(f) = self.frameworks.get_mut(framework) {
                    f.filters.insert(
                        offer.agent,
                        Instant::now() + Duration::from_secs_f64(refuse),
                    );
                }
            }
        }
        Ok(())
    }

    fn kill(&mut self, task: &str) {
        let Some(t) = self.tasks.get_mut(task) else {
            return;
        };
        if let Some(mut process) = t.process.take() {
            process.stop();
        }
        self.set_state(task, "TASK_KILLED", None, "killed by the framework");
    }

    fn reconcile(&mut self, framework: &str, reconcile: &Value) -> Result<(), String> {
        for task in reconcile["tasks"].as_array().into_iter().flatten() {
            let id = task["task_id"]["value"]
                .as_str()
                .ok_or("a reconciled task without task_id")?;
            let (state, agent) = self
                .tasks
                .get(id)
                .map(|t| (t.state.clone(), t.agent.clone()))
                .unwrap_or_else(|| ("TASK_LOST".into(), String::new()));
            // Reconciliation updates carry no uuid: they are not acknowledged.
            self.send(
                framework,
                json!({"type": "UPDATE", "update": {"status": {
                "task_id": {"value": id}, "state": state, "agent_id": {"value": agent},
                "reason": "REASON_RECONCILIATION", "source": "SOURCE_MASTER"}}}),
            );
        }
        Ok(())
    }

    fn teardown(&mut self, framework: &str) {
        let ids: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.framework == framework)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.kill(&id);
        }
        self.offers.retain(|_, o| o.framework != framework);
        self.frameworks.remove(framework);
        self.refresh_view();
    }

    fn tick(&mut self) {
        let now = Instant::now();
        // Processes that exited on their own.
        let mut exited = Vec::new();
        for (id, task) in &mut self.tasks {
            if let Some(process) = &mut task.process {
                if let Ok(Some(status)) = process.child.try_wait() {
                    task.process = None;
                    exited.push((id.clone(), status.success(), status.to_string()));
                }
            }
        }
        for (id, success, status) in exited {
            if success {
                self.set_state(&id, "TASK_FINISHED", None, &status);
            } else {
                self.set_state(
                    &id,
                    "TASK_FAILED",
                    Some("REASON_COMMAND_EXECUTOR_FAILED"),
                    &status,
                );
            }
        }
        // Frameworks gone longer than their failover timeout lose their tasks.
        let expired: Vec<String> = self
            .frameworks
            .values()
            .filter(|f| {
                f.disconnected_at
                    .is_some_and(|at| at.elapsed().as_secs_f64() > f.failover_timeout)
            })
            .map(|f| f.id.clone())
            .collect();
        for id in expired {
            self.teardown(&id);
        }
        if self.heartbeats && self.last_heartbeat.elapsed() >= self.config.heartbeat {
            self.last_heartbeat = now;
            let ids: Vec<String> = self.frameworks.keys().cloned().collect();
            for id in ids {
                self.send(&id, json!({"type": "HEARTBEAT"}));
            }
        }
        let resend = self.config.resend;
        let mut resent = 0;
        for f in self.frameworks.values_mut() {
            for (queue, sent) in f.unacked.values_mut() {
                if let (Some((_, update)), Some(events)) = (queue.front(), &f.events) {
                    if sent.elapsed() >= resend {
                        let _ = events.send(record(update.clone()));
                        *sent = now;
                        resent += 1;
                    }
                }
            }
        }
        self.view.resent += resent;
        self.make_offers();
        self.refresh_view();
    }

    fn make_offers(&mut self) {
        let agents = self.config.agents.clone();
        let frameworks: Vec<String> = self
            .frameworks
            .values()
            .filter(|f| f.events.is_some() && !f.suppressed)
            .map(|f| f.id.clone())
            .collect();
        for framework in frameworks {
            for agent in &agents {
                if self.lost_agents.contains(&agent.id)
                    || self.offers.values().any(|o| o.agent == agent.id)
                    || self.frameworks[&framework]
                        .filters
                        .get(&agent.id)
                        .is_some_and(|until| *until > Instant::now())
                {
                    continue;
                }
                let live = self
                    .tasks
                    .values()
                    .filter(|t| t.agent == agent.id && !terminal(&t.state));
                let (mut cpus, mut mem, mut ports) = (agent.cpus, agent.mem, agent.ports.clone());
                for task in live {
                    cpus -= task.cpus;
                    mem -= task.mem;
                    ports.retain(|p| !task.ports.contains(p));
                }
                if cpus < 0.01 || mem < 1.0 {
                    continue;
                }
                self.next += 1;
                let offer_id = format!("O-{}", self.next);
                let offer = json!({"id": {"value": offer_id}, "framework_id": {"value": framework},
                    "agent_id": {"value": agent.id}, "hostname": agent.hostname,
                    "allocation_info": {"role": "*"},
                    "resources": [
                        {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}, "role": "*", "allocation_info": {"role": "*"}},
                        {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}, "role": "*", "allocation_info": {"role": "*"}},
                        {"name": "ports", "type": "RANGES", "role": "*", "allocation_info": {"role": "*"},
                         "ranges": {"range": ports.iter().map(|p| json!({"begin": p, "end": p})).collect::<Vec<_>>()}}],
                    "attributes": agent.attributes.iter().map(|(k, v)| json!({"name": k, "type": "TEXT", "text": {"value": v}})).collect::<Vec<_>>(),
                    "executor_ids": []});
                self.offers.insert(
                    offer_id.clone(),
                    Offer {
                        framework: framework.clone(),
                        agent: agent.id.clone(),
                        cpus,
                        mem,
                        ports,
                    },
                );
                self.view.offers_made += 1;
                self.send(
                    &framework,
                    json!({"type": "OFFERS", "offers": {"offers": [offer]}}),
                );
                if std::mem::take(&mut self.rescind_next) {
                    self.offers.remove(&offer_id);
                    self.view.rescinded.push(offer_id.clone());
                    self.send(
                        &framework,
                        json!({"type": "RESCIND", "rescind": {"offer_id": {"value": offer_id}}}),
                    );
                }
            }
        }
    }

    fn refresh_view(&mut self) {
        let mut tasks: Vec<TaskView> = self
            .tasks
            .iter()
            .map(|(id, t)| TaskView {
                id: id.clone(),
                agent: t.agent.clone(),
                state: t.state.clone(),
                cpus: t.cpus,
                arguments: t.arguments.clone(),
                image: t.image.clone(),
            })
            .collect();
        tasks.sort_by(|a, b| a.id.cmp(&b.id));
        self.view.tasks = tasks;
        self.view.unacked = self
            .frameworks
            .values()
            .flat_map(|f| f.unacked.values())
            .map(|(queue, _)| queue.len())
            .sum();
        self.view.connected = self
            .frameworks
            .values()
            .filter(|f| f.events.is_some())
            .map(|f| f.id.clone())
            .collect();
    }
}

fn stream_response(receiver: mpsc::UnboundedReceiver<Bytes>, stream_id: &str) -> Response {
    // The body ends when the master drops the stream's sender.
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let record = receiver.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(record), receiver))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Mesos-Stream-Id", stream_id)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Starts a task's process, its output into `logs`.
fn spawn(
    mut command: Command,
    logs: &std::path::Path,
    task: &str,
    container: Option<String>,
) -> Running {
    let log = std::fs::File::create(logs.join(format!("{task}.log"))).unwrap();
    let child = command
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    Running { child, container }
}

/// A port free on loopback now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn acceptor(tls: &ServerTls) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(tls.cert.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(tls.key.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match &tls.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(cert.unwrap()).unwrap();
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// TLS over a TCP listener, for axum: a failed handshake (no client certificate, say) drops
/// that connection only.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await
            {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A CA and certificates it signs, made now: the master's for 127.0.0.1 and a client's.
pub struct TestCertificates {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl TestCertificates {
    pub fn make() -> TestCertificates {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ardent test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let signed = |names: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &issuer)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = signed(vec!["127.0.0.1".into(), "localhost".into()]);
        let (client_cert, client_key) = signed(vec!["ardent-framework".into()]);
        TestCertificates {
            ca: ca.pem(),
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }
}
