//! Map output: a per-pixel column of a query result written back onto the stack's grid as a
//! GeoTIFF, from `ardent map` or from SQL ([`MapCopy`]). (The CLI draws the PNG preview: plotting stays out of the engine.)

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{CopyToSource, Statement};
use datafusion::sql::sqlparser::ast::Value;

use crate::error::MapError;
use crate::gdal_io::write_geotiff;
use crate::grid::Grid;
use crate::output::write_atomically;
use crate::provider::RasterTable;

/// Values on a grid, row-major, NaN where the result had no value.
#[derive(Clone, Debug)]
pub struct MapImage {
    pub grid: Grid,
    pub values: Vec<f64>,
    pub column: String,
}

impl MapImage {
    /// Places `column` of the result rows on `grid`, using their `row` and `col` columns.
    pub fn from_batches(
        batches: &[RecordBatch],
        column: &str,
        grid: &Grid,
    ) -> Result<MapImage, MapError> {
        let mut values = vec![f64::NAN; grid.width * grid.height];
        for batch in batches {
            let get = |name: &str, to: &DataType| {
                let array = batch
                    .column_by_name(name)
                    .ok_or_else(|| MapError::MissingColumn(name.to_string()))?;
                cast(array, to).map_err(|source| MapError::Type {
                    column: name.to_string(),
                    source,
                })
            };
            let (rows, cols) = (get("row", &DataType::Int64)?, get("col", &DataType::Int64)?);
            let data = get(column, &DataType::Float64)?;
            let (rows, cols, data) = (
                rows.as_primitive::<Int64Type>(),
                cols.as_primitive::<Int64Type>(),
                data.as_primitive::<Float64Type>(),
            );
            for i in 0..batch.num_rows() {
                if rows.is_null(i) || cols.is_null(i) || data.is_null(i) {
                    continue;
                }
                let (r, c) = (rows.value(i), cols.value(i));
                if r < 0 || c < 0 || r as usize >= grid.height || c as usize >= grid.width {
                    return Err(MapError::OutsideGrid {
                        row: r,
                        col: c,
                        width: grid.width,
                        height: grid.height,
                    });
                }
                values[r as usize * grid.width + c as usize] = data.value(i);
            }
        }
        Ok(MapImage {
            grid: grid.clone(),
            values,
            column: column.to_string(),
        })
    }

    /// The smallest and largest value, if any value is set.
    pub fn range(&self) -> Option<(f64, f64)> {
        let finite = self.values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        (lo <= hi).then_some((lo, hi))
    }

    /// Writes a Float32 GeoTIFF with NaN as nodata.
    pub fn write_geotiff(&self, path: &Path) -> Result<(), MapError> {
        let data: Vec<f32> = self.values.iter().map(|&v| v as f32).collect();
        Ok(write_geotiff(path, &self.grid, &data, Some(f64::NAN))?)
    }
}

/// `COPY (query) TO 'ndvi.tif' STORED AS GEOTIFF OPTIONS ('grid' 'ard', 'column' 'ndvi')`:
/// a per-pixel column of a query result written as a GeoTIFF map on the grid of a raster table
/// of the session (`'tile' 'h003v008'` picks the tile of a stack with several). The query's
/// result needs `row`, `col` and the column. This is how SQL clients (Flight SQL, `ardent sql`)
/// make maps without `ardent map`; the statement returns one row: path, pixels with a value,
/// lowest and highest value.
#[derive(Clone, Debug)]
pub struct MapCopy {
    /// The SQL of the query whose result is mapped.
    pub query: String,
    /// The GeoTIFF to write.
    pub path: std::path::PathBuf,
    pub column: String,
    pub grid: Grid,
}

/// The `STORED AS` word that makes a COPY a map.
const GEOTIFF: &str = "GEOTIFF";

impl MapCopy {
    /// The map a statement asks for, if it is `COPY ... STORED AS GEOTIFF`; an error names what
    /// is wrong with one that is.
    pub async fn from_statement(
        ctx: &SessionContext,
        statement: &Statement,
    ) -> Result<Option<MapCopy>, MapError> {
        let Statement::CopyTo(copy) = statement else {
            return Ok(None);
        };
        if !copy
            .stored_as
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(GEOTIFF))
        {
            return Ok(None);
        }
        let bad = |message: String| MapError::Statement(message);
        let mut options: HashMap<String, String> = HashMap::new();
        for (key, value) in &copy.options {
            let value = match value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            };
            let key = key.to_ascii_lowercase();
            if !matches!(key.as_str(), "grid" | "column" | "tile") {
                return Err(bad(format!(
                    "unknown option '{key}': the options are 'grid' (a raster table), \
                     'column' and 'tile'"
                )));
            }
            options.insert(key, value);
        }
        if !copy.partitioned_by.is_empty() {
            return Err(bad("a map cannot be PARTITIONED BY".to_string()));
        }
        let option = |name: &str, what: &str| {
            options
                .get(name)
                .cloned()
                .ok_or_else(|| bad(format!("give OPTIONS ('{name}' '<{what}>')")))
        };
        let (table, column) = (
            option("grid", "raster table")?,
            option("column", "result column")?,
        );
        let provider = ctx
            .table_provider(table.as_str())
            .await
            .map_err(|_| bad(format!("no table '{table}' for the grid")))?;
        let raster = provider
            .downcast_ref::<RasterTable>()
            .ok_or_else(|| bad(format!("'{table}' is not a raster table: it has no grid")))?;
        let tiles = &raster.stack().tiles;
        let tile = match (options.get("tile"), tiles.as_slice()) {
            (None, [only]) => only,
            (None, _) => {
                return Err(bad(format!(
                    "'{table}' has {} tiles: choose one with OPTIONS ('tile' '<id>')",
                    tiles.len()
                )))
            }
            (Some(id), tiles) => tiles
                .iter()
                .find(|t| &t.tile == id)
                .ok_or_else(|| bad(format!("'{table}' has no tile '{id}'")))?,
        };
        let query = match &copy.source {
            CopyToSource::Query(query) => query.to_string(),
            CopyToSource::Relation(name) => format!("SELECT * FROM {name}"),
        };
        Ok(Some(MapCopy {
            query,
            path: copy.target.clone().into(),
            column,
            grid: tile.grid.clone(),
        }))
    }

    /// The schema of the statement's result: path, pixels with a value, lowest and highest value.
    pub fn result_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("path", DataType::Utf8, false),
            Field::new("pixels", DataType::UInt64, false),
            Field::new("min", DataType::Float64, true),
            Field::new("max", DataType::Float64, true),
        ]))
    }

    /// Writes the map of the query's result, atomically, and returns the statement's result row.
    pub fn write(&self, batches: &[RecordBatch]) -> Result<RecordBatch, MapError> {
        let map = MapImage::from_batches(batches, &self.column, &self.grid)?;
        write_atomically(&self.path, |partial| {
            map.write_geotiff(partial).map_err(|e| e.to_string())
        })?;
        let (lo, hi) = map.range().unwrap_or((f64::NAN, f64::NAN));
        let mapped = map.values.iter().filter(|v| v.is_finite()).count() as u64;
        tracing::info!(path = %self.path.display(), mapped, "map written");
        let finite = |v: f64| v.is_finite().then_some(v);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![self.path.display().to_string()])),
            Arc::new(UInt64Array::from(vec![mapped])),
            Arc::new(Float64Array::from(vec![finite(lo)])),
            Arc::new(Float64Array::from(vec![finite(hi)])),
        ];
        RecordBatch::try_new(MapCopy::result_schema(), columns).map_err(|source| MapError::Type {
            column: self.column.clone(),
            source,
        })
    }
}
