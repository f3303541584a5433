//! Building a session for a master URL, with ardent's tables and UDFs registered.
//!
//! The master URL picks where plans run, as in Spark: `local` (all cores) or `local[N]` run on
//! embedded DataFusion in this process; `df://host:port` on an ardent scheduler and its executors;
//! `mesos://host:5050` on executors placed through Mesos by a scheduler that the client runs in
//! its own process (the `ardent` CLI does; see `ardent_scheduler::mesos`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::cache::statement::CacheStatement;
use crate::distributed::job_name::name_next_job;
use crate::error::MasterError;
use crate::functions::{RasterTableFactory, RasterTableFunction};
use crate::map::MapCopy;
use crate::statements::{logged, record_plan};

/// The environment variable read when no `--master` is given.
pub const MASTER_ENV: &str = "ARDENT_MASTER";

/// Where a session's plans run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Master {
    /// Embedded DataFusion with this many threads (all cores when `None`).
    Local { threads: Option<usize> },
    /// An ardent scheduler (Ballista) at `host:port`.
    Cluster { host: String, port: u16 },
    /// Mesos masters, as given (`mesos://m1:5050,m2:5050`): a scheduler in this process places
    /// executors through them.
    Mesos { masters: String },
}

impl Default for Master {
    fn default() -> Self {
        Master::Local { threads: None }
    }
}

impl FromStr for Master {
    type Err = MasterError;

    /// ```
    /// use ardent_engine::session::Master;
    /// assert_eq!("local[2]".parse::<Master>(), Ok(Master::Local { threads: Some(2) }));
    /// assert!("yarn://x".parse::<Master>().unwrap_err().to_string().contains("local[N]"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "local" || s == "local[*]" {
            return Ok(Master::Local { threads: None });
        }
        if let Some(n) = s.strip_prefix("local[").and_then(|r| r.strip_suffix(']')) {
            return match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Master::Local { threads: Some(n) }),
                _ => Err(MasterError::Threads(s.to_string())),
            };
        }
        match s.split_once("://") {
            Some(("df", address)) => {
                let (host, port) = match address.trim_end_matches('/').rsplit_once(':') {
                    Some((host, port)) => (
                        host,
                        port.parse::<u16>().map_err(|_| MasterError::Port {
                            port: port.to_string(),
                            master: s.to_string(),
                        })?,
                    ),
                    None => (address.trim_end_matches('/'), 50050),
                };
                if host.is_empty() {
                    return Err(MasterError::NoHost(s.to_string()));
                }
                Ok(Master::Cluster {
                    host: host.to_string(),
                    port,
                })
            }
            Some(("mesos", rest)) if !rest.trim_matches('/').is_empty() => Ok(Master::Mesos {
                masters: s.to_string(),
            }),
            Some(("mesos", _)) => Err(MasterError::NoHost(s.to_string())),
            Some((scheme, _)) => Err(MasterError::Scheme {
                scheme: scheme.to_string(),
                master: s.to_string(),
            }),
            None => Err(MasterError::Unknown(s.to_string())),
        }
    }
}

impl fmt::Display for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Master::Local { threads: None } => f.write_str("local[*]"),
            Master::Local { threads: Some(n) } => write!(f, "local[{n}]"),
            Master::Cluster { host, port } => write!(f, "df://{host}:{port}"),
            Master::Mesos { masters } => f.write_str(masters),
        }
    }
}

impl Master {
    /// The master from an explicit value, else `ARDENT_MASTER`, else `local`.
    pub fn resolve(explicit: Option<&str>) -> Result<Master, MasterError> {
        match explicit
            .map(str::to_string)
            .or_else(|| std::env::var(MASTER_ENV).ok().filter(|v| !v.is_empty()))
        {
            Some(text) => text.parse(),
            None => Ok(Master::default()),
        }
    }
}

/// A session for `master` with ardent's tables and UDFs.
pub async fn session_for(
    master: &Master,
    config: SessionConfig,
) -> datafusion::error::Result<SessionContext> {
    match master {
        Master::Local { threads } => Ok(local_session_with(*threads, config)),
        Master::Cluster { host, port } => {
            crate::distributed::remote_session(host, *port, config).await
        }
        Master::Mesos { masters } => datafusion::common::plan_err!(
            "master '{masters}': a Mesos master needs a scheduler in this process to place \
             executors (the ardent CLI starts one); from Rust, serve ardent_scheduler's \
             scheduler with --mesos-master and connect to it with df://"
        ),
    }
}

datafusion::common::extensions_options! {
    /// ardent's session settings, under `ardent.` (`SET ardent.cache.memory_limit = '2G'`).
    pub struct ArdentConfig {
        /// The cache's budgets (local mode).
        pub cache: crate::cache::CacheConfig, default = Default::default()
    }
}

impl datafusion::config::ConfigExtension for ArdentConfig {
    const PREFIX: &'static str = "ardent";
}

/// An embedded session using `threads` partitions (all cores when `None`).
pub fn local_session(threads: Option<usize>) -> SessionContext {
    local_session_with(threads, SessionConfig::new())
}

/// An embedded session with `config`, using `threads` partitions (all cores when `None`).
pub fn local_session_with(threads: Option<usize>, config: SessionConfig) -> SessionContext {
    let config = match threads {
        Some(n) => config.with_target_partitions(n),
        None => config,
    };
    crate::gdal_io::init();
    let config = config
        .with_information_schema(true)
        .with_option_extension(ArdentConfig::default());
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    state
        .table_factories_mut()
        .insert("RASTER".to_string(), Arc::new(RasterTableFactory));
    let ctx = SessionContext::new_with_state(state).enable_url_table();
    register_functions(&ctx);
    ctx
}

/// Registers ardent's UDFs and table functions in `ctx`.
pub fn register_functions(ctx: &SessionContext) {
    ardent_udfs::register_all(ctx);
    for function in RasterTableFunction::all() {
        ctx.register_udtf(function.name(), Arc::new(function));
    }
}

/// The result of one statement of a script.
#[derive(Debug)]
pub struct StatementResult {
    pub schema: datafusion::arrow::datatypes::SchemaRef,
    pub batches: Vec<datafusion::arrow::array::RecordBatch>,
}

/// Runs `;`-separated SQL statements in order, returning each one's result. The cache's
/// statements (`CACHE TABLE`, `SHOW CACHES`, ...) are run by [`crate::cache::run`]. On a
/// cluster, with a [`JobNaming`](crate::distributed::job_name::JobNaming), each statement's job
/// is named after its SQL.
pub async fn run_script(
    ctx: &SessionContext,
    script: &str,
) -> datafusion::error::Result<Vec<StatementResult>> {
    let pieces = crate::cache::statement::split_statements(script)?;
    if pieces.is_empty() {
        return datafusion::common::plan_err!("no SQL statement given");
    }
    let mut results = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if let Some(statement) = CacheStatement::parse(&piece)? {
            name_next_job(ctx, &piece)?;
            let run = crate::cache::run::execute(ctx, statement);
            let batch = Box::pin(logged(ctx, &piece, run)).await?;
            results.push(StatementResult {
                schema: batch.schema(),
                batches: vec![batch],
            });
            continue;
        }
        run_statements(ctx, &piece, &mut results).await?;
    }
    Ok(results)
}

/// Runs the statements of `sql` (no cache statement among them), adding their results.
async fn run_statements(
    ctx: &SessionContext,
    sql: &str,
    results: &mut Vec<StatementResult>,
) -> datafusion::error::Result<()> {
    for statement in datafusion::sql::parser::DFParser::parse_sql(sql)? {
        let text = statement.to_string();
        name_next_job(ctx, &text)?;
        // Boxed: a statement's future is large, and scripts hold one at a time.
        let result = Box::pin(logged(ctx, &text, run_statement(ctx, statement))).await?;
        results.push(result);
    }
    Ok(())
}

/// Runs one parsed statement (a map's `COPY`, or anything DataFusion plans).
async fn run_statement(
    ctx: &SessionContext,
    statement: datafusion::sql::parser::Statement,
) -> datafusion::error::Result<StatementResult> {
    if let Some(map) = MapCopy::from_statement(ctx, &statement)
        .await
        .map_err(|e| DataFusionError::Plan(e.to_string()))?
    {
        let batches = ctx.sql(&map.query).await?.collect().await?;
        let row = map
            .write(&batches)
            .map_err(|e| DataFusionError::Execution(e.to_string()))?;
        return Ok(StatementResult {
            schema: row.schema(),
            batches: vec![row],
        });
    }
    let plan = ctx.state().statement_to_plan(statement).await?;
    let frame = ctx.execute_logical_plan(plan).await?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    // As DataFrame::collect does, keeping the physical plan for the statement log.
    let task = Arc::new(frame.task_ctx());
    let physical = frame.create_physical_plan().await?;
    record_plan(ctx, &physical);
    let batches = datafusion::physical_plan::collect(physical, task).await?;
    Ok(StatementResult { schema, batches })
}
