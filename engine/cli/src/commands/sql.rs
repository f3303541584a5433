//! `ardent sql`.

use std::io::Write;
use std::sync::Arc;

use ardent_engine::session::{run_script, Master};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;

use ardent_engine::statements::StatementLog;
use ardent_scheduler::ui::Ui;
use datafusion::prelude::SessionContext;

use super::{session, with_progress, Script};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub script: Script,
    /// Output format of query results.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Serve a web UI of this session's statements (their plans with live metrics, a cancel
    /// button) on loopback while it runs: `--ui` on the first free port from 4040, `--ui=PORT`
    /// on PORT. Local mode only: a cluster's scheduler serves its own.
    #[arg(long, value_name = "PORT", num_args = 0..=1, require_equals = true,
          default_missing_value = "auto")]
    pub ui: Option<String>,
}

pub async fn run(master: Option<&str>, args: Args) -> anyhow::Result<()> {
    let script = args.script.text()?;
    let ui = args.ui.as_deref().map(ui_port).transpose()?;
    if ui.is_some() && matches!(Master::resolve(master), Ok(Master::Cluster { .. })) {
        anyhow::bail!(
            "--ui serves a local session's UI; on a cluster the scheduler serves the web UI \
             (each job's page is printed as it starts)"
        );
    }
    let (ctx, progress) = session(master).await?;
    if let Some(port) = ui {
        serve_ui(&ctx, port).await?;
    }
    let results = with_progress(&progress, args.quiet, run_script(&ctx, &script))
        .await
        .map_err(anyhow::Error::msg)?;
    let mut out = std::io::stdout().lock();
    for result in results.iter().filter(|r| !r.schema.fields().is_empty()) {
        print(&mut out, &result.batches, &result.schema, args.format)?;
    }
    Ok(())
}

/// The port `--ui` asks for: `None` for the first free one from 4040.
fn ui_port(arg: &str) -> anyhow::Result<Option<u16>> {
    match arg {
        "auto" => Ok(None),
        port => port.parse::<u16>().map(Some).map_err(|_| {
            anyhow::anyhow!(
                "--ui=PORT takes a port number (--ui alone takes 4040 or the next free one), \
                 not '{port}'"
            )
        }),
    }
}

/// Starts the local session's web UI and says where it is.
async fn serve_ui(ctx: &SessionContext, port: Option<u16>) -> anyhow::Result<()> {
    let log = StatementLog::default();
    ctx.state_ref()
        .write()
        .config_mut()
        .set_extension(Arc::new(log.clone()));
    match Ui::bind_local(port, log).await? {
        Some(ui) => {
            eprintln!(
                "web UI of this session: http://{} (until it ends)",
                ui.address()
            );
            tokio::spawn(async move {
                if let Err(e) = ui.serve().await {
                    tracing::warn!("{e}");
                }
            });
        }
        None => eprintln!("no web UI: ports 4040 to 4056 are all taken (give --ui PORT)"),
    }
    Ok(())
}

fn print(
    out: &mut impl Write,
    batches: &[RecordBatch],
    schema: &datafusion::arrow::datatypes::SchemaRef,
    format: Format,
) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot write results: {e}");
    match format {
        Format::Table => {
            let table = if batches.is_empty() {
                pretty_format_batches(&[RecordBatch::new_empty(Arc::clone(schema))])
            } else {
                pretty_format_batches(batches)
            };
            writeln!(out, "{}", table.map_err(|e| err(&e))?).map_err(|e| err(&e))
        }
        Format::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            if batches.is_empty() {
                writer
                    .write(&RecordBatch::new_empty(Arc::clone(schema)))
                    .map_err(|e| err(&e))?;
            }
            for batch in batches {
                writer.write(batch).map_err(|e| err(&e))?;
            }
            Ok(())
        }
        Format::Json => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch).map_err(|e| err(&e))?;
            }
            writer.finish().map_err(|e| err(&e))
        }
    }
}
