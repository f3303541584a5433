//! `fake-mesos-master`: the tests' fake Mesos master (`ardent_tests::mesos_master`) as a
//! process, for the images' tests, whose agents run executor tasks as Docker containers of the
//! executor image. Prints the master URL on stdout and serves until stdin closes or SIGTERM;
//! `GET /state` shows the calls it took and its tasks. Every task is stopped when it exits.

use std::path::PathBuf;

use ardent_tests::mesos_master::{Agent, Config, FakeMesos, Runner};
use clap::Parser;
use tokio::io::AsyncReadExt;

#[derive(Parser)]
struct Flags {
    /// Agents, each on loopback.
    #[arg(long, default_value_t = 2)]
    agents: usize,
    /// Cores of each agent.
    #[arg(long, default_value_t = 1.0)]
    cpus: f64,
    /// How tasks run: `docker` (containers of their image), or the path of an
    /// `ardent-executor` to run as a process.
    #[arg(long, default_value = "docker")]
    runner: String,
    /// Folder for the tasks' output.
    #[arg(long)]
    logs: PathBuf,
}

#[tokio::main]
async fn main() {
    let flags = Flags::parse();
    let runner = match flags.runner.as_str() {
        "docker" => Runner::Docker { logs: flags.logs },
        executor => Runner::Process {
            executor: executor.into(),
            logs: flags.logs,
        },
    };
    let mesos = FakeMesos::start(Config {
        agents: (1..=flags.agents)
            .map(|i| Agent::local(&format!("a{i}"), flags.cpus, 6))
            .collect(),
        runner,
        ..Config::default()
    })
    .await;
    println!("{}", mesos.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM can be caught");
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    tokio::select! {
        _ = term.recv() => {}
        _ = stdin.read_to_end(&mut sink) => {}
    }
    drop(mesos);
}
