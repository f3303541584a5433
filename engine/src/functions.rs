//! SQL entry points to raster tables: `CREATE EXTERNAL TABLE ... STORED AS RASTER` and the table
//! functions `raster_pixels(...)` and `raster_observations(...)`.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{
    Session, TableFunctionArgs, TableFunctionImpl, TableProvider, TableProviderFactory,
};
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{CreateExternalTable, Expr};

use crate::provider::{Layout, RasterOptions, RasterTable};

/// The `STORED AS RASTER` table factory.
///
/// ```sql
/// CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '/data/h003v008'
/// OPTIONS ('layout' 'observations', 'chip_size' '100');
/// ```
#[derive(Debug, Default)]
pub struct RasterTableFactory;

#[async_trait]
impl TableProviderFactory for RasterTableFactory {
    async fn create(
        &self,
        _state: &dyn Session,
        cmd: &CreateExternalTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let options = RasterOptions::from_map(&cmd.options)?;
        let location = match cmd.locations.as_slice() {
            [one] => one.clone(),
            [] => return plan_err!("CREATE EXTERNAL TABLE {} needs a LOCATION", cmd.name),
            _ => {
                return plan_err!(
                    "a RASTER table reads one LOCATION, {} were given",
                    cmd.locations.len()
                )
            }
        };
        let table = RasterTable::try_new(&location, options).await?;
        if !cmd.schema.fields().is_empty() {
            return plan_err!(
                "a RASTER table's columns come from its stack; remove the column list from CREATE EXTERNAL TABLE {}",
                cmd.name
            );
        }
        Ok(Arc::new(table))
    }
}

/// Runs an async catalogue from DataFusion's synchronous table-function call.
///
/// On a multi-threaded runtime (every server, the CLI) the calling worker hands its other tasks
/// to the runtime (`block_in_place`) while the catalogue runs on it, so other sessions keep being
/// served. Elsewhere (a current-thread runtime, or none) a helper thread runs it on a runtime of
/// its own.
fn block_on_catalogue<T: Send>(catalogue: impl Future<Output = Result<T>> + Send) -> Result<T> {
    use tokio::runtime::{Builder, Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(catalogue))
        }
        _ => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| DataFusionError::External(Box::new(e)))?
                        .block_on(catalogue)
                })
                .join()
                .map_err(|_| DataFusionError::Internal("the catalogue thread panicked".into()))?
        }),
    }
}

/// `raster_pixels('<location>' [, '<option>', '<value>' ...])` and its `observations` twin.
#[derive(Debug)]
pub struct RasterTableFunction {
    layout: Layout,
}

impl RasterTableFunction {
    pub fn new(layout: Layout) -> Self {
        Self { layout }
    }

    /// Both table functions: `raster_pixels` and `raster_observations`.
    pub fn all() -> [RasterTableFunction; 2] {
        [Layout::Pixels, Layout::Observations].map(RasterTableFunction::new)
    }

    /// The SQL name of the function.
    pub fn name(&self) -> &'static str {
        match self.layout {
            Layout::Pixels => "raster_pixels",
            Layout::Observations => "raster_observations",
        }
    }
}

impl TableFunctionImpl for RasterTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let name = self.name();
        let strings = args
            .exprs()
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _) => {
                    Ok(s.clone())
                }
                other => plan_err!(
                    "{name}: argument {} must be a string literal, got {other}",
                    i + 1
                ),
            })
            .collect::<Result<Vec<_>>>()?;
        let Some((location, pairs)) = strings.split_first() else {
            return plan_err!("{name} needs a location: {name}('<folder or s3:// URL>' [, 'option', 'value' ...])");
        };
        if pairs.len() % 2 != 0 {
            return plan_err!("{name}: options come in 'key', 'value' pairs after the location");
        }
        let mut options =
            RasterOptions::from_pairs(pairs.chunks(2).map(|kv| (kv[0].as_str(), kv[1].as_str())))?;
        options.layout = self.layout;
        Ok(Arc::new(block_on_catalogue(RasterTable::try_new(
            location, options,
        ))?))
    }
}
