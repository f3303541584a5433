//! The columns of the two layouts and their Arrow types.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::ard::{Band, Collection};

use super::Layout;

pub use ardent_udfs::QA_SCHEME_KEY;

/// A column of a raster table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// Tile id, `h003v008`.
    Tile,
    /// Projected coordinates of the chip's upper-left corner (LCMAP's chip id).
    ChipX,
    ChipY,
    /// Projected coordinates of the pixel's upper-left corner.
    Px,
    Py,
    /// Pixel row and column in the tile's grid.
    Row,
    Col,
    /// `pixels` layout: the acquisition dates, ascending.
    Dates,
    /// `observations` layout: the acquisition date.
    Date,
    Band(Band),
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Column::Tile => "tile",
            Column::ChipX => "chip_x",
            Column::ChipY => "chip_y",
            Column::Px => "px",
            Column::Py => "py",
            Column::Row => "row",
            Column::Col => "col",
            Column::Dates => "dates",
            Column::Date => "date",
            Column::Band(b) => b.name(),
        }
    }

    /// The column of `layout` called `name`.
    pub fn from_name(name: &str, layout: Layout) -> Option<Column> {
        let all = table_columns(layout, &Band::ALL);
        all.into_iter().find(|c| c.name() == name)
    }

    /// The Arrow field of this column in `layout`.
    pub fn field(self, layout: Layout) -> Field {
        let scalar = match self {
            Column::Tile => DataType::Utf8,
            Column::ChipX | Column::ChipY | Column::Px | Column::Py => DataType::Int64,
            Column::Row | Column::Col => DataType::Int32,
            Column::Dates | Column::Date => DataType::Date32,
            Column::Band(b) if b.is_qa() => DataType::UInt16,
            Column::Band(_) => DataType::Int16,
        };
        let per_pixel_list =
            layout == Layout::Pixels && matches!(self, Column::Dates | Column::Band(_));
        let data_type = if per_pixel_list {
            DataType::List(Arc::new(Field::new_list_field(scalar, true)))
        } else {
            scalar
        };
        Field::new(self.name(), data_type, false)
    }
}

/// The columns of a table of `layout` over `bands`, in order.
pub fn table_columns(layout: Layout, bands: &[Band]) -> Vec<Column> {
    let mut columns = vec![
        Column::Tile,
        Column::ChipX,
        Column::ChipY,
        Column::Px,
        Column::Py,
        Column::Row,
        Column::Col,
        match layout {
            Layout::Pixels => Column::Dates,
            Layout::Observations => Column::Date,
        },
    ];
    columns.extend(bands.iter().map(|&b| Column::Band(b)));
    columns
}

/// The Arrow schema of `columns` over a stack of `collection`. The `qa` field names its QA scheme
/// in its metadata ([`QA_SCHEME_KEY`]), so functions decoding it (`ccdc`) default to the right
/// one.
pub fn schema_of(columns: &[Column], layout: Layout, collection: Collection) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| {
                let field = c.field(layout);
                if *c == Column::Band(Band::Qa) {
                    let scheme = collection.qa_scheme().name().to_string();
                    field.with_metadata([(QA_SCHEME_KEY.to_string(), scheme)].into())
                } else {
                    field
                }
            })
            .collect::<Vec<_>>(),
    ))
}
