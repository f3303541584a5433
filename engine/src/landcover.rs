//! Training data for LCMAP's land-cover classifier: labels from a raster of NLCD classes on the
//! stack's grid (as LCMAP trained on NLCD 2001), crosswalked to LCMAP's classes, joined with the
//! classifier's features (`lc_features`) of each labelled pixel's CCDC segment at the training
//! date, written as a Parquet table of `row`, `col`, `label` and `features`.
//! `python -m ardent.landcover train` fits the model on it; `lc_predict`, `landcover` and
//! `ardent products --model` use the model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ardent_udfs::kernels::cover::nlcd_class;
use chrono::NaiveDate;
use datafusion::arrow::array::{Int32Array, RecordBatch, UInt8Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::SessionContext;

use crate::error::LandcoverError;
use crate::gdal_io::RasterFile;
use crate::grid::{Grid, Window};

/// The labelled pixels of a label raster: row, column and LCMAP class (1-8).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    pub rows: Vec<i32>,
    pub cols: Vec<i32>,
    pub classes: Vec<u8>,
}

/// Reads a raster of NLCD class codes that must lie on `grid` (the stack's), crosswalked to
/// LCMAP's classes; pixels without a class (NLCD 0, unmapped codes) are left out.
pub fn read_labels(path: &str, grid: &Grid) -> Result<Labels, LandcoverError> {
    let file = RasterFile::open(path)?;
    if let Some(difference) = file.grid()?.layout_difference(grid) {
        return Err(LandcoverError::LabelGrid {
            path: path.to_string(),
            difference,
        });
    }
    let window = Window {
        col: 0,
        row: 0,
        width: grid.width,
        height: grid.height,
    };
    let mut codes = vec![0u16; window.pixels()];
    file.read_window(window, &mut codes)?;
    let mut labels = Labels::default();
    for (i, &code) in codes.iter().enumerate() {
        let class = nlcd_class(i64::from(code));
        if class != 0 {
            labels.rows.push((i / grid.width) as i32);
            labels.cols.push((i % grid.width) as i32);
            labels.classes.push(class);
        }
    }
    if labels.classes.is_empty() {
        return Err(LandcoverError::NoLabels(path.to_string()));
    }
    Ok(labels)
}

/// What [`write_training`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSummary {
    pub path: PathBuf,
    /// Labelled pixels with a segment at the date: the table's rows.
    pub rows: usize,
    /// Labelled pixels in all.
    pub labelled: usize,
}

/// Writes the training table: for each labelled pixel whose segments (`column` of the query
/// `segments_sql`, which gives `row` and `col`) have one covering `date`, its label and
/// features. The file is written under a temporary name and moved into place when complete.
pub async fn write_training(
    ctx: &SessionContext,
    segments_sql: &str,
    column: &str,
    labels: &Labels,
    date: NaiveDate,
    out: &Path,
) -> Result<TrainingSummary, LandcoverError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("row", DataType::Int32, false),
        Field::new("col", DataType::Int32, false),
        Field::new("label", DataType::UInt8, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int32Array::from(labels.rows.clone())),
            Arc::new(Int32Array::from(labels.cols.clone())),
            Arc::new(UInt8Array::from(labels.classes.clone())),
        ],
    )?;
    // A session-unique name: the caller's own tables keep theirs.
    let table = format!("ardent_labels_{}", std::process::id());
    ctx.register_table(
        table.as_str(),
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    let features = format!(
        "lc_features(s.\"{}\", DATE '{date}')",
        column.replace('"', "\"\"")
    );
    let query = format!(
        "SELECT s.row, s.col, l.label, {features} AS features \
         FROM ({segments_sql}) AS s JOIN {table} AS l ON s.row = l.row AND s.col = l.col \
         WHERE {features} IS NOT NULL ORDER BY s.row, s.col"
    );
    let result = async { ctx.sql(&query).await?.collect().await }.await;
    ctx.deregister_table(table.as_str())?;
    let batches = result?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows == 0 {
        return Err(LandcoverError::NoTrainingRows { date });
    }
    crate::output::write_atomically(out, |partial| {
        let file = std::fs::File::create(partial).map_err(|e| e.to_string())?;
        let mut writer =
            ArrowWriter::try_new(file, batches[0].schema(), None).map_err(|e| e.to_string())?;
        for batch in &batches {
            writer.write(batch).map_err(|e| e.to_string())?;
        }
        writer.close().map(drop).map_err(|e| e.to_string())
    })?;
    Ok(TrainingSummary {
        path: out.to_path_buf(),
        rows,
        labelled: labels.classes.len(),
    })
}
