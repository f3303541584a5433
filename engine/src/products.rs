//! LCMAP's products as rasters: for each year, the five change products of every pixel's CCDC
//! segments at July 1 (the SQL functions `sctime`, `scmag`, `sclast`, `scstab`, `scmqa`) and,
//! given a land-cover model, the five cover products (`landcover`'s `lcpri`, `lcsec`,
//! `lcpconf`, `lcsconf`, `lcachg`), each written as a cloud optimized GeoTIFF on the stack's
//! grid with LCMAP's data type, named as LCMAP named its tiles' products
//! (`LCMAP_CU_003008_2015_SCTIME.tif`, without the production date and version of a USGS
//! release).
//!
//! LCMAP's change products have no fill value; a pixel without segments gets 0 (SCSTAB, as
//! lcmap-gaia does, the days since 1982-01-01). The cover products' fill is 0.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ardent_udfs::kernels::booster::Booster;
use ardent_udfs::kernels::cover::SEGMENT_FEATURES;
use ardent_udfs::{ChangeProduct, CoverProduct};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Schema};
use datafusion::prelude::SessionContext;

use crate::catalog::from_date32;
use crate::error::ProductsError;
use crate::gdal_io::{write_raster, Sample, TiffLayout};
use crate::grid::Grid;
use crate::landcover::AuxLayers;
use crate::map::MapImage;

/// Where the segments come from and where the products go.
#[derive(Clone, Debug)]
pub struct ProductsRequest {
    /// A query giving `row`, `col` and `column` for the pixels of one tile.
    pub segments_sql: String,
    /// The column holding a `ccdc` result or its `change_models`.
    pub column: String,
    /// The tile's grid and id (`h003v008`).
    pub grid: Grid,
    pub tile: String,
    pub years: Vec<i32>,
    pub out: PathBuf,
    /// A land-cover model (XGBoost JSON, `python -m ardent.landcover train`): with it, the
    /// cover products too.
    pub model: Option<PathBuf>,
    /// The auxiliary layers the model was trained with, in its order (rasters on the grid).
    pub aux: Vec<String>,
}

/// One of LCMAP's ten products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Change(ChangeProduct),
    Cover(CoverProduct),
}

impl Product {
    /// The SQL name: the change product's function, the cover product's field of `landcover`.
    pub fn name(self) -> &'static str {
        match self {
            Product::Change(p) => p.name(),
            Product::Cover(p) => p.name(),
        }
    }

    /// LCMAP's data type.
    pub fn data_type(self) -> DataType {
        match self {
            Product::Change(p) => p.data_type(),
            Product::Cover(_) => DataType::UInt8,
        }
    }

    /// The products made with or without a land-cover model.
    pub fn all(with_cover: bool) -> Vec<Product> {
        let change = ChangeProduct::ALL.map(Product::Change);
        let cover = CoverProduct::ALL.map(Product::Cover);
        let cover = if with_cover { &cover[..] } else { &[] };
        change.iter().chain(cover).copied().collect()
    }
}

/// One product of one year, written.
#[derive(Clone, Debug)]
pub struct ProductRaster {
    pub product: Product,
    pub year: i32,
    pub path: PathBuf,
    /// The values as written, for previews and summaries.
    pub image: MapImage,
}

/// LCMAP's file name of a tile's product: `LCMAP_CU_003008_2015_SCTIME.tif`.
pub fn product_file_name(tile: &str, year: i32, product: Product) -> String {
    let code: String = tile.chars().filter(char::is_ascii_digit).collect();
    format!(
        "LCMAP_CU_{code}_{year}_{}.tif",
        product.name().to_ascii_uppercase()
    )
}

/// The first and last year the segments of `request` cover (the earliest start and latest end).
pub async fn segment_years(
    ctx: &SessionContext,
    request: &ProductsRequest,
) -> Result<Option<(i32, i32)>, ProductsError> {
    let frame = ctx
        .sql(&format!(
            "SELECT * FROM ({}) AS segments LIMIT 0",
            request.segments_sql
        ))
        .await?;
    let column = frame
        .schema()
        .field_with_unqualified_name(&request.column)
        .map_err(|_| ProductsError::MissingColumn(request.column.clone()))?;
    let models = match column.data_type() {
        DataType::Struct(_) => format!("\"{}\"['change_models']", request.column),
        _ => format!("\"{}\"", request.column),
    };
    let batches = ctx
        .sql(&format!(
            "SELECT min(m['start_day']) AS first, max(m['end_day']) AS last \
             FROM (SELECT unnest({models}) AS m FROM ({}) AS segments)",
            request.segments_sql
        ))
        .await?
        .collect()
        .await?;
    let Some(batch) = batches.first().filter(|b| b.num_rows() == 1) else {
        return Ok(None);
    };
    let day = |i: usize| {
        let column = batch.column(i).as_primitive_opt::<Date32Type>()?;
        column
            .is_valid(0)
            .then(|| chrono::Datelike::year(&from_date32(column.value(0))))
    };
    Ok(day(0).zip(day(1)))
}

/// Computes and writes the products of every year of `request` (five, or ten with a model),
/// calling `written` after each file. A year outside the years the segments cover, or a model
/// file that is not a model, is refused before anything is written; each file is written under
/// a temporary name and moved into place when complete.
pub async fn write_change_products(
    ctx: &SessionContext,
    request: &ProductsRequest,
    written: &mut dyn FnMut(&ProductRaster),
) -> Result<Vec<ProductRaster>, ProductsError> {
    if request.years.is_empty() {
        return Err(ProductsError::NoYears);
    }
    let (first, last) = segment_years(ctx, request)
        .await?
        .ok_or(ProductsError::NoSegments)?;
    if let Some(&year) = request.years.iter().find(|y| !(first..=last).contains(*y)) {
        return Err(ProductsError::YearOutside { year, first, last });
    }
    // A model file that is not a model is refused here, before any product is computed.
    let model = match &request.model {
        Some(path) => {
            let refused = |reason: String| ProductsError::Model {
                path: path.clone(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| refused(e.to_string()))?;
            let booster = Booster::from_json(&text).map_err(|e| refused(e.to_string()))?;
            let given = SEGMENT_FEATURES + request.aux.len();
            if booster.features() != given {
                return Err(refused(format!(
                    "it takes {} features; the segments give {SEGMENT_FEATURES} and {} auxiliary \
                     layers were given (--aux, in the order the model was trained with)",
                    booster.features(),
                    request.aux.len()
                )));
            }
            Some(path.display().to_string())
        }
        None => None,
    };
    let aux = AuxLayers::read(&request.aux, &request.grid)?;
    let aux_table = aux.register(ctx, &format!("ardent_aux_{}", std::process::id()))?;
    let result = products(
        ctx,
        request,
        model.as_deref(),
        aux_table.as_deref(),
        written,
    )
    .await;
    if let Some(t) = aux_table {
        ctx.deregister_table(t.as_str())?;
    }
    result
}

/// The products of every year, with the model and the auxiliary layers' table if given.
async fn products(
    ctx: &SessionContext,
    request: &ProductsRequest,
    model: Option<&str>,
    aux_table: Option<&str>,
    written: &mut dyn FnMut(&ProductRaster),
) -> Result<Vec<ProductRaster>, ProductsError> {
    std::fs::create_dir_all(&request.out).map_err(|source| ProductsError::Io {
        path: request.out.clone(),
        source,
    })?;
    let all = Product::all(model.is_some());
    let mut rasters = Vec::new();
    for &year in &request.years {
        let mut columns: Vec<String> = all
            .iter()
            .filter_map(|p| match p {
                Product::Change(c) => Some(format!(
                    "{0}(\"{1}\", {year}) AS {0}",
                    c.name(),
                    request.column
                )),
                Product::Cover(_) => None,
            })
            .collect();
        if model.is_some() {
            columns.push("cover".into());
        }
        // `landcover` once per pixel, its five fields taken from the struct here: a field
        // taken in SQL is planned as one call of the function per field.
        let (cover, join) = match (model, aux_table) {
            (Some(model), aux) => (
                format!(
                    ", landcover(s.\"{}\", {year}, '{}'{}) AS cover",
                    request.column,
                    model.replace('\'', "''"),
                    if aux.is_some() { ", a.aux" } else { "" }
                ),
                aux.map(|t| format!(" LEFT JOIN {t} AS a ON s.row = a.row AND s.col = a.col"))
                    .unwrap_or_default(),
            ),
            (None, _) => (String::new(), String::new()),
        };
        let batches = ctx
            .sql(&format!(
                "SELECT row, col, {} FROM (SELECT s.*{cover} FROM ({}) AS s{join}) AS segments",
                columns.join(", "),
                request.segments_sql
            ))
            .await?
            .collect()
            .await?;
        let batches = batches
            .iter()
            .map(with_struct_fields)
            .collect::<Result<Vec<_>, _>>()?;
        for &product in &all {
            let raster = write_product(&batches, request, year, product)?;
            written(&raster);
            rasters.push(raster);
        }
    }
    Ok(rasters)
}

/// `batch` with each struct column replaced by its fields, as columns of their own names.
fn with_struct_fields(batch: &RecordBatch) -> Result<RecordBatch, ProductsError> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match column.as_struct_opt() {
            Some(parts) => {
                fields.extend(parts.fields().iter().cloned());
                columns.extend(parts.columns().iter().cloned());
            }
            None => {
                fields.push(Arc::clone(field));
                columns.push(Arc::clone(column));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| ProductsError::Query(e.into()))
}

fn write_product(
    batches: &[RecordBatch],
    request: &ProductsRequest,
    year: i32,
    product: Product,
) -> Result<ProductRaster, ProductsError> {
    let mut image = MapImage::from_batches(batches, product.name(), &request.grid)?;
    // No fill value: a pixel without segments is 0.
    for v in &mut image.values {
        if v.is_nan() {
            *v = 0.0;
        }
    }
    let path = request
        .out
        .join(product_file_name(&request.tile, year, product));
    fn write<T: Sample>(path: &Path, grid: &Grid, values: Vec<T>) -> Result<(), ProductsError> {
        Ok(write_raster(path, grid, &values, None, TiffLayout::Cog)?)
    }
    let values = image.values.iter();
    match product.data_type() {
        DataType::Float32 => write(&path, &request.grid, values.map(|&v| v as f32).collect())?,
        DataType::UInt8 => write(&path, &request.grid, values.map(|&v| v as u8).collect())?,
        _ => write(&path, &request.grid, values.map(|&v| v as u16).collect())?,
    }
    image.column = product.name().to_ascii_uppercase();
    Ok(ProductRaster {
        product,
        year,
        path,
        image,
    })
}
