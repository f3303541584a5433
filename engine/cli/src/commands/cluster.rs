//! `ardent cluster up|down|status`: a scheduler and executors as background processes on this host.

use std::path::PathBuf;
use std::time::Duration;

use ardent_engine::cluster::{down, read_state, registered_executors, up, ClusterSpec};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Start a scheduler and executors in the background and wait until they are ready.
    Up {
        /// Number of executors.
        #[arg(long, default_value_t = 2)]
        executors: usize,
        /// Scheduler port (0 picks a free one).
        #[arg(long, default_value_t = 50050)]
        port: u16,
        /// Task slots per executor (cores of this host shared among executors by default).
        #[arg(long)]
        vcores: Option<usize>,
        /// Folder for the state file, logs and work directories.
        #[arg(long, default_value = ".ardent-cluster")]
        dir: PathBuf,
        /// Seconds to wait for the cluster to come up.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Stop the cluster started from a folder.
    Down {
        #[arg(long, default_value = ".ardent-cluster")]
        dir: PathBuf,
    },
    /// Show the cluster started from a folder.
    Status {
        #[arg(long, default_value = ".ardent-cluster")]
        dir: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Up {
            executors,
            port,
            vcores,
            dir,
            timeout,
        } => {
            if executors == 0 {
                anyhow::bail!("--executors must be at least 1");
            }
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let spec = ClusterSpec {
                bin_dir: std::env::current_exe()
                    .map_err(|e| anyhow::anyhow!("cannot find this program's folder: {e}"))?
                    .parent()
                    .ok_or_else(|| anyhow::anyhow!("cannot find this program's folder"))?
                    .to_path_buf(),
                dir,
                executors,
                port,
                vcores: vcores.unwrap_or((cores / executors).max(1)),
                timeout: Duration::from_secs(timeout),
                scheduler_flags: Vec::new(),
                executor_flags: Vec::new(),
                env: Vec::new(),
            };
            let state = up(&spec)?;
            println!(
                "cluster up: {} executor(s); logs and state in {}",
                executors,
                spec.dir.display()
            );
            println!("master: {}", state.master);
            Ok(())
        }
        Action::Down { dir } => {
            let stopped = down(&dir)?;
            println!("cluster down: stopped {stopped} process(es)");
            Ok(())
        }
        Action::Status { dir } => {
            let state = read_state(&dir)?;
            let executors = registered_executors(state.scheduler_port)
                .map_or_else(|e| e.to_string(), |n| format!("{n} executor(s) registered"));
            println!("master: {} ({executors})", state.master);
            for m in &state.members {
                println!(
                    "{:<10} pid {:<8} port {:<6} log {}",
                    m.role,
                    m.pid,
                    m.port,
                    m.log.display()
                );
            }
            Ok(())
        }
    }
}
