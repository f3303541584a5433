//! Map output: a per-pixel column of a query result written back onto the stack's grid as a
//! GeoTIFF, with a PNG preview (colour scale and legend).

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use plotters::prelude::*;

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
    ) -> Result<MapImage, String> {
        let mut values = vec![f64::NAN; grid.width * grid.height];
        for batch in batches {
            let get = |name: &str, to: &DataType| {
                let array = batch
                    .column_by_name(name)
                    .ok_or_else(|| format!("the query result has no column '{name}' (a map needs row, col and the value)"))?;
                cast(array, to).map_err(|e| format!("column '{name}' cannot be mapped: {e}"))
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
                    return Err(format!(
                        "row {r}, col {c} lies outside the {}x{} grid of the stack",
                        grid.width, grid.height
                    ));
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
    pub fn write_geotiff(&self, path: &Path) -> Result<(), String> {
        let data: Vec<f32> = self.values.iter().map(|&v| v as f32).collect();
        write_geotiff(path, &self.grid, &data, Some(f64::NAN)).map_err(|e| e.to_string())
    }

    /// Writes a PNG preview: the map in the viridis scale (grey for no data) with a legend.
    pub fn write_png(&self, path: &Path, title: &str) -> Result<(), String> {
        let (lo, hi) = self
            .range()
            .ok_or_else(|| format!("column '{}' has no values to map", self.column))?;
        let scale = (600 / self.grid.width.max(self.grid.height)).max(1) as u32;
        let (map_w, map_h) = (
            self.grid.width as u32 * scale,
            self.grid.height as u32 * scale,
        );
        let size = (map_w + 150, map_h + 70);
        crate::output::write_atomically(path, |partial| {
            self.draw(partial, size, (map_w, scale), (lo, hi), title)
        })
        .map_err(|e| e.to_string())
    }

    fn draw(
        &self,
        path: &Path,
        size: (u32, u32),
        (map_w, scale): (u32, u32),
        (lo, hi): (f64, f64),
        title: &str,
    ) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let root = BitMapBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| err(&e))?;
        let (map_area, legend) = root.split_horizontally(map_w + 20);
        let map_area = map_area.margin(10, 10, 10, 10);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let color = |v: f64| -> RGBColor {
            if v.is_finite() {
                ViridisRGB.get_color_normalized(((v - lo) / span) as f32, 0.0, 1.0)
            } else {
                RGBColor(190, 190, 190)
            }
        };
        for (i, &v) in self.values.iter().enumerate() {
            let (r, c) = ((i / self.grid.width) as i32, (i % self.grid.width) as i32);
            let s = scale as i32;
            let rect = Rectangle::new([(c * s, r * s), (c * s + s, r * s + s)], color(v).filled());
            map_area.draw(&rect).map_err(|e| err(&e))?;
        }
        // Legend: a vertical colour bar with five labelled ticks.
        let legend = legend.margin(10, 10, 0, 10);
        let bar_h = (size.1 - 110) as i32;
        for y in 0..bar_h {
            let v = hi - (hi - lo) * f64::from(y) / f64::from(bar_h.max(1));
            legend
                .draw(&Rectangle::new([(0, y), (24, y + 1)], color(v).filled()))
                .map_err(|e| err(&e))?;
        }
        for k in 0..5 {
            let y = bar_h * k / 4;
            let v = hi - (hi - lo) * f64::from(k) / 4.0;
            legend
                .draw(&Text::new(
                    format!("{v:.3}"),
                    (30, (y - 7).max(0)),
                    ("sans-serif", 14),
                ))
                .map_err(|e| err(&e))?;
        }
        legend
            .draw(&Text::new(
                self.column.clone(),
                (0, bar_h + 8),
                ("sans-serif", 14),
            ))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))
    }
}
