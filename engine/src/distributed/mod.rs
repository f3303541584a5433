//! Everything ardent needs to run plans on a Ballista cluster, in one place: the extension codecs
//! that carry raster tables, scans and UDFs across processes, the session states and function
//! registry the scheduler and executors are built with, and the client session for a `df://` master.

mod codec;
pub mod flight;
pub mod job_name;
pub mod rest;
pub mod wire;

/// The Ballista release the scheduler, executors and client are built on.
pub use ballista_core::BALLISTA_VERSION;
pub use codec::{ArdentLogicalCodec, ArdentPhysicalCodec};

use std::sync::Arc;
use std::time::Duration;

use ballista::extension::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::functions::{RasterTableFactory, RasterTableFunction};

/// Runs a server's main future on `runtime`, printing a failure as one `error:` line: the shell
/// shared by `ardent-scheduler` and `ardent-executor`. It returns the exit code for `main` to
/// return; it never exits the process itself.
pub fn run_to_exit_code<E: std::fmt::Display>(
    runtime: &mut tokio::runtime::Builder,
    work: impl std::future::Future<Output = std::result::Result<(), E>>,
) -> std::process::ExitCode {
    let result = match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(work).map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot start the async runtime: {e}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses a server's command line (Ballista's own flags), reading each long flag that is absent
/// from the command line from `<prefix><FLAG>` in the environment: with prefix `ARDENT_SCHEDULER_`,
/// `--bind-port` comes from `ARDENT_SCHEDULER_BIND_PORT`. `--help` lists the variables. A bad flag,
/// `--help` and `--version` come back as clap's error for the binary to print and exit with.
pub fn parse_flags_with_env<T: clap::Parser>(prefix: &str) -> Result<T, clap::Error> {
    parse_flags_from(prefix, std::env::args_os())
}

/// As [`parse_flags_with_env`], from `args` (the program's name first) instead of the
/// command line.
pub fn parse_flags_from<T: clap::Parser>(
    prefix: &str,
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
) -> Result<T, clap::Error> {
    let command = T::command().mut_args(|arg| {
        let var = match arg.get_long() {
            Some("help" | "version") | None => return arg,
            Some(long) => format!("{prefix}{}", long.to_uppercase().replace('-', "_")),
        };
        arg.env(var)
    });
    T::from_arg_matches(&command.try_get_matches_from(args)?)
}

/// How long a client waits for the scheduler to accept a connection before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A Ballista session config carrying ardent's codecs.
pub fn cluster_config(config: SessionConfig) -> SessionConfig {
    config
        .with_ballista_logical_extension_codec(Arc::new(ArdentLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(ArdentPhysicalCodec::default()))
        .with_information_schema(true)
}

/// The scheduler's session state: Ballista's defaults plus ardent's UDFs and the RASTER table factory.
pub fn scheduler_session_state(config: SessionConfig) -> Result<SessionState> {
    crate::gdal_io::init();
    let mut state = ballista_core::utils::default_session_builder(cluster_config(config))?;
    for udf in ardent_udfs::all_udfs() {
        datafusion::execution::FunctionRegistry::register_udf(&mut state, Arc::new(udf))?;
    }
    state
        .table_factories_mut()
        .insert("RASTER".to_string(), Arc::new(RasterTableFactory));
    for function in RasterTableFunction::all() {
        state.register_udtf(function.name(), Arc::new(function));
    }
    Ok(state)
}

/// The executors' function registry: Ballista's scalar (with nested), aggregate and window
/// functions plus ardent's UDFs.
pub fn executor_function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    // Ballista's default registry lacks the nested (array, struct, map) functions that its own
    // client sessions plan with, e.g. `cardinality`: executors would reject such tasks.
    for udf in ballista_core::extension::ballista_scalar_functions() {
        registry
            .scalar_functions
            .insert(udf.name().to_string(), udf);
    }
    for udf in ardent_udfs::all_udfs() {
        registry
            .scalar_functions
            .insert(udf.name().to_string(), Arc::new(udf));
    }
    registry
}

/// A client session on the scheduler at `host:port`, with ardent's tables and UDFs.
///
/// Fails within [`CONNECT_TIMEOUT`] with the URL named when the scheduler cannot be reached, rather
/// than at the first query.
pub async fn remote_session(
    host: &str,
    port: u16,
    config: SessionConfig,
) -> Result<SessionContext> {
    let shown = format!("df://{host}:{port}");
    let reach = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await;
    match reach {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(DataFusionError::Configuration(format!(
                "cannot reach the ardent scheduler at {shown}: {e}"
            )))
        }
        Err(_) => {
            return Err(DataFusionError::Configuration(format!(
                "cannot reach the ardent scheduler at {shown}: no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )))
        }
    }
    crate::gdal_io::init();
    let mut state = datafusion::execution::session_state::SessionStateBuilder::new()
        .with_config(cluster_config(config))
        .with_default_features()
        .build();
    state
        .table_factories_mut()
        .insert("RASTER".to_string(), Arc::new(RasterTableFactory));
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state).await?;
    // After remote_with_state: Ballista replaces the function list when it upgrades the state.
    crate::session::register_functions(&ctx);
    Ok(ctx.enable_url_table())
}
