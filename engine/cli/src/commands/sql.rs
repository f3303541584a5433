//! `ardent sql`.

use std::io::Write;
use std::sync::Arc;

use ardent_engine::session::run_script;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;

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
}

pub async fn run(master: Option<&str>, args: Args) -> anyhow::Result<()> {
    let script = args.script.text()?;
    let (ctx, progress) = session(master).await?;
    let results = with_progress(&progress, args.quiet, run_script(&ctx, &script))
        .await
        .map_err(anyhow::Error::msg)?;
    let mut out = std::io::stdout().lock();
    for result in results.iter().filter(|r| !r.schema.fields().is_empty()) {
        print(&mut out, &result.batches, &result.schema, args.format)?;
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
