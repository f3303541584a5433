//! Names of the jobs a client submits to a cluster: who submitted it and its SQL text,
//! shortened, so that the scheduler's job list and web UI say what each job is (Ballista names
//! a job after the session's `ballista.job.name` at the time it is planned).

use ballista_core::config::BALLISTA_JOB_NAME;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

/// Longest SQL text, in characters, a job name carries.
pub const MAX_SQL_CHARS: usize = 120;

/// A session extension: each statement [`run_script`](crate::session::run_script) runs is
/// submitted as a job named `"<prefix>: <its SQL>"`.
#[derive(Clone, Debug)]
pub struct JobNaming {
    /// Who submits: a user name, or a client's own tag to find its jobs by.
    pub prefix: String,
}

/// `"<prefix>: <sql>"`, the SQL on one line and cut at [`MAX_SQL_CHARS`].
///
/// ```
/// use ardent_engine::distributed::job_name::job_name;
/// assert_eq!(job_name("ann", "SELECT\n  1"), "ann: SELECT 1");
/// assert!(job_name("ann", &"x".repeat(500)).ends_with('…'));
/// ```
pub fn job_name(prefix: &str, sql: &str) -> String {
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let sql = match sql.char_indices().nth(MAX_SQL_CHARS) {
        Some((end, _)) => format!("{}…", &sql[..end]),
        None => sql,
    };
    format!("{prefix}: {sql}")
}

/// Names the session's next job after `sql`, when the session has a [`JobNaming`].
pub fn name_next_job(ctx: &SessionContext, sql: &str) -> Result<()> {
    let state = ctx.state_ref();
    let naming = state.read().config().get_extension::<JobNaming>();
    if let Some(naming) = naming {
        state
            .write()
            .config_mut()
            .options_mut()
            .set(BALLISTA_JOB_NAME, &job_name(&naming.prefix, sql))?;
    }
    Ok(())
}
