//! The scheduler's REST API (served on its gRPC port): jobs, their stages and tasks, executors.
//!
//! A few GETs of small JSON bodies, made with a plain HTTP/1.1 request rather than an HTTP client
//! crate: the API is on a trusted network, and the client stays out of the async runtime, so it
//! can be polled from any thread.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use ballista_api_types::dto::{JobResponse, QueryStagesResponse, TaskStatus};

/// How long a request may take before the scheduler counts as not answering.
const TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` from the scheduler at `host:port`: the body, or `None` if it did not answer.
pub fn get(host: &str, port: u16, path: &str) -> Option<String> {
    let address = (host, port).to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT).ok()?;
    stream.set_read_timeout(Some(TIMEOUT)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// Number of executors the scheduler knows.
pub fn registered_executors(host: &str, port: u16) -> Option<usize> {
    let body = get(host, port, "/api/executors")?;
    let executors: Vec<serde_json::Value> = serde_json::from_str(&body).ok()?;
    Some(executors.len())
}

/// The scheduler's jobs, newest and oldest alike.
pub fn jobs(host: &str, port: u16) -> Option<Vec<JobResponse>> {
    serde_json::from_str(&get(host, port, "/api/jobs")?).ok()
}

/// Where a job stands: stages and tasks finished out of those planned so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobProgress {
    pub job_id: String,
    pub status: String,
    pub stages_done: usize,
    pub stages: usize,
    pub tasks_done: usize,
    pub tasks: usize,
}

/// Progress of the most recently started job named `job_name`, if the scheduler has one.
pub fn job_progress(host: &str, port: u16, job_name: &str) -> Option<JobProgress> {
    let job = jobs(host, port)?
        .into_iter()
        .filter(|j| j.job_name == job_name)
        .max_by_key(|j| j.start_time)?;
    let path = format!("/api/job/{}/stages", job.job_id);
    let stages: QueryStagesResponse = serde_json::from_str(&get(host, port, &path)?).ok()?;
    let tasks = stages.stages.iter().flat_map(|s| s.tasks.iter().flatten());
    let (mut tasks_done, mut tasks_total) = (0, 0);
    for task in tasks {
        tasks_total += 1;
        tasks_done += usize::from(matches!(task.status, TaskStatus::Successful));
    }
    Some(JobProgress {
        job_id: job.job_id,
        status: job.status,
        stages_done: job.completed_stages,
        stages: job.num_stages,
        tasks_done,
        tasks: tasks_total,
    })
}
