//! A cluster on one host: an `ardent-scheduler` and N `ardent-executor` processes started in the
//! background on loopback, recorded in a state file, and stopped again. For users with one big
//! machine, and for tests.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::distributed::rest::{RestError, SchedulerApi};
use crate::error::{io_error as io, ClusterError};

/// How many times `up` starts the servers on freshly picked ports before giving up.
const START_ATTEMPTS: usize = 3;

/// The file in the cluster folder that records the running processes.
pub const STATE_FILE: &str = "cluster.json";

/// What to start.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Folder holding the `ardent-scheduler` and `ardent-executor` binaries.
    pub bin_dir: PathBuf,
    /// Folder for the state file, logs and executors' work directories.
    pub dir: PathBuf,
    pub executors: usize,
    /// Scheduler port; 0 picks a free one.
    pub port: u16,
    /// Task slots per executor.
    pub vcores: usize,
    /// How long to wait for the scheduler and executors to come up.
    pub timeout: Duration,
    /// Further flags for the scheduler and for each executor (Ballista's, e.g. timeouts).
    pub scheduler_flags: Vec<String>,
    pub executor_flags: Vec<String>,
    /// Environment variables set for every process (e.g. `RUST_LOG`, object-store credentials).
    pub env: Vec<(String, String)>,
}

/// A running process of the cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    pub role: String,
    pub pid: u32,
    /// When the process started (clock ticks after boot, `/proc/<pid>/stat` field 22): with the
    /// pid, its identity, so that a pid reused by another program is never signalled.
    #[serde(default)]
    pub started: Option<u64>,
    pub port: u16,
    pub log: PathBuf,
}

impl Member {
    /// Whether this member's own process still runs: the pid exists, is not a zombie, and started
    /// when the member did. A member recorded without a start time is never taken for running.
    pub fn is_running(&self) -> bool {
        self.started.is_some() && process_start(self.pid) == self.started
    }
}

/// The start time of a live process, or `None` if there is none with that pid (or it is a
/// zombie).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after it are counted
    // from its closing parenthesis. Field 3 is the state, field 22 the start time.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// The running cluster, as recorded in [`STATE_FILE`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterState {
    pub master: String,
    pub scheduler_port: u16,
    pub members: Vec<Member>,
}

fn free_port() -> Result<u16, ClusterError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(ClusterError::NoPort)
}

/// Number of executors the scheduler on loopback `port` knows.
pub fn registered_executors(port: u16) -> Result<usize, RestError> {
    Ok(SchedulerApi::new("127.0.0.1", port).executors()?.len())
}

/// Whether a process exists and has not exited (an exited, unreaped child still exists as a zombie).
pub fn is_running(pid: u32) -> bool {
    process_start(pid).is_some()
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: plain kill(2) on a pid this module started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn spawn(
    spec: &ClusterSpec,
    binary: &str,
    role: String,
    port: u16,
    args: &[String],
) -> Result<Member, ClusterError> {
    use std::os::unix::process::CommandExt;
    let program = spec.bin_dir.join(binary);
    if !program.exists() {
        return Err(ClusterError::MissingBinary(program));
    }
    let log = spec.dir.join(format!("{role}.log"));
    let file = std::fs::File::create(&log).map_err(io("cannot create", &log))?;
    let err = file.try_clone().map_err(io("cannot open", &log))?;
    let child = Command::new(&program)
        .args(args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        // Own process group: the cluster outlives the command that started it and ^C in that shell.
        .process_group(0)
        .spawn()
        .map_err(io("cannot start", &program))?;
    Ok(Member {
        role,
        pid: child.id(),
        started: process_start(child.id()),
        port,
        log,
    })
}

/// Starts the cluster and waits until every executor has registered. On failure every process it
/// started is stopped again and the error names the log to read.
pub fn up(spec: &ClusterSpec) -> Result<ClusterState, ClusterError> {
    std::fs::create_dir_all(&spec.dir).map_err(io("cannot create", &spec.dir))?;
    let state_file = spec.dir.join(STATE_FILE);
    if let Ok(previous) = read_state(&spec.dir) {
        if previous.members.iter().any(Member::is_running) {
            return Err(ClusterError::AlreadyRunning {
                state: state_file,
                master: previous.master,
            });
        }
    }
    // Ports picked free are bound by the servers a moment later, and another program can take
    // one in between: a server that exits while starting on picked ports is retried on fresh
    // ones, a few times.
    let mut attempt = 1;
    let (port, members, started) = loop {
        let port = if spec.port == 0 {
            free_port()?
        } else {
            spec.port
        };
        let mut members = Vec::new();
        let started = start_members(spec, port, &mut members);
        let retry = spec.port == 0 && attempt < START_ATTEMPTS;
        match started {
            Err(ClusterError::Exited { .. }) if retry => {
                stop(&members);
                attempt += 1;
            }
            started => break (port, members, started),
        }
    };
    match started {
        Ok(()) => {
            let state = ClusterState {
                master: format!("df://127.0.0.1:{port}"),
                scheduler_port: port,
                members,
            };
            let json =
                serde_json::to_string_pretty(&state).map_err(|source| ClusterError::BadState {
                    path: state_file.clone(),
                    source,
                })?;
            std::fs::write(&state_file, json).map_err(io("cannot write", &state_file))?;
            Ok(state)
        }
        Err(e) => {
            stop(&members);
            Err(e)
        }
    }
}

fn start_members(
    spec: &ClusterSpec,
    port: u16,
    members: &mut Vec<Member>,
) -> Result<(), ClusterError> {
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut scheduler_args = args(&[
        "--bind-host",
        "127.0.0.1",
        "--bind-port",
        &port.to_string(),
        "--external-host",
        "127.0.0.1",
    ]);
    scheduler_args.extend(spec.scheduler_flags.iter().cloned());
    members.push(spawn(
        spec,
        "ardent-scheduler",
        "scheduler".into(),
        port,
        &scheduler_args,
    )?);
    wait(spec, members, "the scheduler to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    })?;
    for i in 0..spec.executors {
        let work = spec.dir.join(format!("executor{i}"));
        std::fs::create_dir_all(&work).map_err(io("cannot create", &work))?;
        let flight = free_port()?;
        let mut executor_args = args(&[
            "--scheduler-host",
            "127.0.0.1",
            "--scheduler-port",
            &port.to_string(),
            "--bind-host",
            "127.0.0.1",
            "--external-host",
            "127.0.0.1",
            "--bind-port",
            &flight.to_string(),
            "--bind-grpc-port",
            &free_port()?.to_string(),
            "--bind-health-port",
            &free_port()?.to_string(),
            "--work-dir",
            &work.display().to_string(),
            "-c",
            &spec.vcores.to_string(),
        ]);
        executor_args.extend(spec.executor_flags.iter().cloned());
        members.push(spawn(
            spec,
            "ardent-executor",
            format!("executor{i}"),
            flight,
            &executor_args,
        )?);
    }
    let expected = spec.executors;
    wait(spec, members, "the executors to register", || {
        registered_executors(port).is_ok_and(|n| n >= expected)
    })
}

fn wait(
    spec: &ClusterSpec,
    members: &[Member],
    what: &'static str,
    ready: impl Fn() -> bool,
) -> Result<(), ClusterError> {
    let deadline = Instant::now() + spec.timeout;
    while !ready() {
        if let Some(dead) = members.iter().find(|m| !m.is_running()) {
            return Err(ClusterError::Exited {
                role: dead.role.clone(),
                what,
                log: dead.log.clone(),
            });
        }
        if Instant::now() > deadline {
            return Err(ClusterError::TimedOut {
                seconds: spec.timeout.as_secs(),
                what,
                dir: spec.dir.clone(),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Reads the state file of a cluster folder.
pub fn read_state(dir: &Path) -> Result<ClusterState, ClusterError> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(io("no cluster recorded in", &path))?;
    serde_json::from_str(&text).map_err(|source| ClusterError::BadState { path, source })
}

/// Stops the processes (executors first), SIGTERM then SIGKILL after 10 s. A pid that now
/// belongs to another process (pid reuse after the member exited) is left alone.
fn stop(members: &[Member]) -> usize {
    let mut stopped = 0;
    for member in members.iter().rev() {
        if !member.is_running() {
            if is_running(member.pid) {
                tracing::warn!(
                    pid = member.pid,
                    role = member.role,
                    "not signalling pid {}: it is no longer the cluster's {}",
                    member.pid,
                    member.role
                );
            }
            continue;
        }
        signal(member.pid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while member.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if member.is_running() {
            signal(member.pid, libc::SIGKILL);
        }
        stopped += 1;
    }
    stopped
}

/// Stops the cluster recorded in `dir` and removes its state file. Returns how many processes
/// were still running.
pub fn down(dir: &Path) -> Result<usize, ClusterError> {
    let state = read_state(dir)?;
    let stopped = stop(&state.members);
    std::fs::remove_file(dir.join(STATE_FILE))
        .map_err(io("cannot remove the state file", &dir.join(STATE_FILE)))?;
    Ok(stopped)
}
