//! Map output: a per-pixel column of a query result written back onto the stack's grid as a
//! GeoTIFF. (The CLI draws the PNG preview: plotting stays out of the engine.)

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};

use crate::error::MapError;
use crate::gdal_io::write_geotiff;
use crate::grid::Grid;

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
