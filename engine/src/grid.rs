//! Raster grids: the CONUS Albers ARD tile grid, a stack's pixel grid, and its chips.

use crate::ard::TileId;

/// The CONUS Albers Equal Area projection of Landsat ARD (WGS 84 datum, as in the ARD files).
pub const ARD_CRS_WKT: &str = r#"PROJCS["Albers",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Albers_Conic_Equal_Area"],PARAMETER["latitude_of_center",23],PARAMETER["longitude_of_center",-96],PARAMETER["standard_parallel_1",29.5],PARAMETER["standard_parallel_2",45.5],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]]]"#;

/// ARD pixel size in metres.
pub const ARD_PIXEL_SIZE: f64 = 30.0;

/// ARD tiles are 5000 x 5000 pixels.
pub const ARD_TILE_PIXELS: usize = 5000;

/// Projected coordinates of the upper-left corner of an ARD tile.
///
/// ```
/// use ardent_engine::grid::ard_tile_origin;
/// let (x, y) = ard_tile_origin("h004v003".parse().unwrap());
/// assert_eq!((x, y), (-1_965_585.0, 2_864_805.0));
/// ```
pub fn ard_tile_origin(tile: TileId) -> (f64, f64) {
    let span = ARD_PIXEL_SIZE * ARD_TILE_PIXELS as f64;
    (
        -2_565_585.0 + f64::from(tile.h) * span,
        3_314_805.0 - f64::from(tile.v) * span,
    )
}

/// The pixel grid of a raster: CRS, affine geotransform (GDAL order) and size.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub crs_wkt: String,
    pub transform: [f64; 6],
    pub width: usize,
    pub height: usize,
}

impl Grid {
    /// A north-up ARD grid of `width` x `height` pixels starting at the tile's upper-left corner.
    pub fn ard(tile: TileId, width: usize, height: usize) -> Grid {
        let (x, y) = ard_tile_origin(tile);
        Grid {
            crs_wkt: ARD_CRS_WKT.to_string(),
            transform: [x, ARD_PIXEL_SIZE, 0.0, y, 0.0, -ARD_PIXEL_SIZE],
            width,
            height,
        }
    }

    /// Projected x of the left edge of column `col` (north-up grids).
    pub fn x_of(&self, col: usize) -> f64 {
        self.transform[0] + col as f64 * self.transform[1]
    }

    /// Projected y of the top edge of row `row` (north-up grids).
    pub fn y_of(&self, row: usize) -> f64 {
        self.transform[3] + row as f64 * self.transform[5]
    }

    /// Whether the grid is north-up (no rotation), the only kind ardent reads.
    pub fn is_north_up(&self) -> bool {
        self.transform[2] == 0.0 && self.transform[4] == 0.0 && self.transform[5] < 0.0
    }

    /// Describes how `other` differs in geotransform or size, or `None` if they match (CRS is
    /// compared separately, as equal projections can be written differently).
    pub fn layout_difference(&self, other: &Grid) -> Option<String> {
        self.layout_difference_from(&other.transform, (other.width, other.height))
    }

    /// Like [`Grid::layout_difference`], for a geotransform and size read on their own.
    pub fn layout_difference_from(
        &self,
        transform: &[f64; 6],
        (width, height): (usize, usize),
    ) -> Option<String> {
        if (self.width, self.height) != (width, height) {
            return Some(format!(
                "size {width}x{height} differs from {}x{}",
                self.width, self.height
            ));
        }
        let close = self
            .transform
            .iter()
            .zip(transform)
            .all(|(a, b)| (a - b).abs() <= 1e-6 * a.abs().max(1.0));
        (!close).then(|| {
            format!(
                "geotransform {transform:?} differs from {:?}",
                self.transform
            )
        })
    }

    /// The chips of the grid: `chip_size` x `chip_size` blocks from the upper-left corner, smaller at
    /// the right and bottom edges when the size is not a multiple.
    pub fn chips(&self, chip_size: usize) -> Vec<Window> {
        let mut chips = Vec::new();
        for row in (0..self.height).step_by(chip_size) {
            for col in (0..self.width).step_by(chip_size) {
                chips.push(Window {
                    col,
                    row,
                    width: chip_size.min(self.width - col),
                    height: chip_size.min(self.height - row),
                });
            }
        }
        chips
    }
}

/// A rectangle of pixels: columns `col..col + width`, rows `row..row + height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub col: usize,
    pub row: usize,
    pub width: usize,
    pub height: usize,
}

impl Window {
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// The part of this window inside `cols` x `rows` (half-open ranges), if any.
    pub fn intersect(&self, cols: (usize, usize), rows: (usize, usize)) -> Option<Window> {
        let c0 = self.col.max(cols.0);
        let c1 = (self.col + self.width).min(cols.1);
        let r0 = self.row.max(rows.0);
        let r1 = (self.row + self.height).min(rows.1);
        (c0 < c1 && r0 < r1).then(|| Window {
            col: c0,
            row: r0,
            width: c1 - c0,
            height: r1 - r0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chips_cover_the_grid_once() {
        let grid = Grid::ard("h003v008".parse().unwrap(), 250, 120);
        let chips = grid.chips(100);
        assert_eq!(chips.len(), 3 * 2);
        assert_eq!(chips.iter().map(Window::pixels).sum::<usize>(), 250 * 120);
        assert_eq!(
            chips[2],
            Window {
                col: 200,
                row: 0,
                width: 50,
                height: 100
            }
        );
    }

    #[test]
    fn layout_differences_are_described() {
        let a = Grid::ard("h003v008".parse().unwrap(), 100, 100);
        let b = Grid::ard("h003v009".parse().unwrap(), 100, 100);
        assert!(a.layout_difference(&a.clone()).is_none());
        assert!(a.layout_difference(&b).unwrap().contains("geotransform"));
        let c = Grid::ard("h003v008".parse().unwrap(), 100, 99);
        assert!(a.layout_difference(&c).unwrap().contains("100x99"));
    }

    #[test]
    fn window_intersection() {
        let w = Window {
            col: 100,
            row: 0,
            width: 100,
            height: 100,
        };
        assert_eq!(
            w.intersect((150, 400), (10, 20)),
            Some(Window {
                col: 150,
                row: 10,
                width: 50,
                height: 10
            })
        );
        assert_eq!(w.intersect((0, 100), (0, 100)), None);
    }
}
