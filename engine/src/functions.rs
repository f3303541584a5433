//! SQL entry points to raster tables: `CREATE EXTERNAL TABLE ... STORED AS RASTER` and the table
//! functions `raster_pixels(...)` and `raster_observations(...)`.

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
        let options = RasterOptions::from_map(&cmd.options).map_err(DataFusionError::Plan)?;
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
        // Cataloguing opens every file's header: blocking work, kept off the async workers.
        let table = tokio::task::spawn_blocking(move || RasterTable::try_new(&location, options))
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
        if !cmd.schema.fields().is_empty() {
            return plan_err!(
                "a RASTER table's columns come from its stack; remove the column list from CREATE EXTERNAL TABLE {}",
                cmd.name
            );
        }
        Ok(Arc::new(table))
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
            RasterOptions::from_pairs(pairs.chunks(2).map(|kv| (kv[0].as_str(), kv[1].as_str())))
                .map_err(DataFusionError::Plan)?;
        options.layout = self.layout;
        Ok(Arc::new(RasterTable::try_new(location, options)?))
    }
}
