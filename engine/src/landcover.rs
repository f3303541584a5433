//! Training data for LCMAP's land-cover classifier: labels from a raster of NLCD classes on the
//! stack's grid (as LCMAP trained on NLCD 2001), crosswalked to LCMAP's classes, joined with the
//! classifier's features (`lc_features`) of each labelled pixel's CCDC segment at the training
//! date, after the pixel's values of any auxiliary layers (LCMAP used aspect, posidex, slope,
//! mpw and a DEM), written as a Parquet table of `row`, `col`, `label` and `features`.
//! `python -m ardent.landcover train` fits the model on it; `lc_predict`, `landcover` and
//! `ardent products --model` use the model, with the same auxiliary layers in the same order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ardent_udfs::kernels::cover::nlcd_class;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, Int32Array, ListArray, RecordBatch, UInt8Array};
use datafusion::arrow::datatypes::Float32Type;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::SessionContext;

use crate::error::LandcoverError;
use crate::gdal_io::{RasterFile, Sample};
use crate::grid::{Grid, Window};

/// The labelled pixels of a label raster: row, column and LCMAP class (1-8).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    pub rows: Vec<i32>,
    pub cols: Vec<i32>,
    pub classes: Vec<u8>,
}

/// The values of a single-band raster that must lie on `grid` (the stack's), row by row.
fn read_layer<T: Sample>(path: &str, grid: &Grid) -> Result<Vec<T>, LandcoverError> {
    let file = RasterFile::open(path)?;
    if let Some(difference) = file.grid()?.layout_difference(grid) {
        return Err(LandcoverError::Grid {
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
    let mut values = vec![T::default(); window.pixels()];
    file.read_window(window, &mut values)?;
    Ok(values)
}

/// Reads a raster of NLCD class codes that must lie on `grid` (the stack's), crosswalked to
/// LCMAP's classes; pixels without a class (NLCD 0, unmapped codes) are left out.
pub fn read_labels(path: &str, grid: &Grid) -> Result<Labels, LandcoverError> {
    let codes: Vec<u16> = read_layer(path, grid)?;
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

/// Auxiliary layers (elevation, slope, ...) on the stack's grid: each pixel's values, in the
/// layers' order, are the first features.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuxLayers {
    pub width: usize,
    pub layers: Vec<Vec<f32>>,
}

impl AuxLayers {
    /// Reads the layers at `paths`, each a single-band raster on `grid`.
    pub fn read(paths: &[String], grid: &Grid) -> Result<AuxLayers, LandcoverError> {
        Ok(AuxLayers {
            width: grid.width,
            layers: paths
                .iter()
                .map(|p| read_layer::<f32>(p, grid))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Registers the layers as table `name` (`row`, `col`, `aux`: the pixel's values as a list)
    /// in `ctx`, for queries to join by pixel; `None` if there are no layers.
    pub fn register(
        &self,
        ctx: &SessionContext,
        name: &str,
    ) -> Result<Option<String>, LandcoverError> {
        let Some(first) = self.layers.first() else {
            return Ok(None);
        };
        let pixels = first.len();
        let values = ListArray::from_iter_primitive::<Float32Type, _, _>(
            (0..pixels).map(|i| Some(self.layers.iter().map(move |l| Some(l[i])))),
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("row", DataType::Int32, false),
            Field::new("col", DataType::Int32, false),
            Field::new("aux", values.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int32Array::from_iter_values(
                    (0..pixels).map(|i| (i / self.width) as i32),
                )),
                Arc::new(Int32Array::from_iter_values(
                    (0..pixels).map(|i| (i % self.width) as i32),
                )),
                Arc::new(values),
            ],
        )?;
        ctx.register_table(
            name,
            Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
        )?;
        Ok(Some(name.to_string()))
    }
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
/// features (after its `aux` values). The file is written under a temporary name and moved
/// into place when complete.
pub async fn write_training(
    ctx: &SessionContext,
    segments_sql: &str,
    column: &str,
    labels: &Labels,
    aux: &AuxLayers,
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
    let aux_table = aux.register(ctx, &format!("{table}_aux"))?;
    let (aux_join, aux_arg) = match &aux_table {
        Some(t) => (
            format!(" JOIN {t} AS a ON s.row = a.row AND s.col = a.col"),
            ", a.aux",
        ),
        None => (String::new(), ""),
    };
    let features = format!(
        "lc_features(s.\"{}\", DATE '{date}'{aux_arg})",
        column.replace('"', "\"\"")
    );
    let query = format!(
        "SELECT s.row, s.col, l.label, {features} AS features \
         FROM ({segments_sql}) AS s JOIN {table} AS l ON s.row = l.row AND s.col = l.col{aux_join} \
         WHERE {features} IS NOT NULL ORDER BY s.row, s.col"
    );
    let result = async { ctx.sql(&query).await?.collect().await }.await;
    ctx.deregister_table(table.as_str())?;
    if let Some(t) = aux_table {
        ctx.deregister_table(t.as_str())?;
    }
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
