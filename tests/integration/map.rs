//! Map output: GeoTIFF on the stack's grid and a PNG preview.

use ardent_engine::gdal_io::RasterFile;
use ardent_engine::grid::Window;

use crate::common::*;

#[test]
fn map_command_writes_geotiff_on_the_stack_grid_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let (tif, png) = (dir.path().join("ndvi.tif"), dir.path().join("ndvi.png"));
    let location = stack().to_str().unwrap();
    let sql = format!(
        "SELECT row, col, composite('median', dates, ndvi(red, nir), qa, 'c1', DATE '2014-01-01', DATE '2015-01-01') AS ndvi
         FROM raster_pixels('{location}') WHERE row < 20"
    );
    let o = ardent(&[
        "map",
        "--stack",
        location,
        "--column",
        "ndvi",
        "--out",
        tif.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
        &sql,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ndvi.tif"));

    let map = RasterFile::open(tif.to_str().unwrap()).unwrap();
    let stack_file = RasterFile::open(tifs(stack())[0].to_str().unwrap()).unwrap();
    assert!(stack_file
        .grid()
        .unwrap()
        .layout_difference(&map.grid().unwrap())
        .is_none());
    let mut values = vec![0f32; SIZE * SIZE];
    map.read_window(
        Window {
            col: 0,
            row: 0,
            width: SIZE,
            height: SIZE,
        },
        &mut values,
    )
    .unwrap();
    // Rows below 20 were not in the result: no data.
    assert!(values[20 * SIZE..].iter().all(|v| v.is_nan()));
    let mapped = &values[..20 * SIZE];
    assert!(mapped.iter().filter(|v| v.is_finite()).count() > 20 * SIZE * 9 / 10);
    assert!(mapped
        .iter()
        .filter(|v| v.is_finite())
        .all(|v| (-1.0..=1.0).contains(v)));

    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Width from the IHDR chunk: the map (scaled to 600 px) plus the legend.
    let width = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
    assert_eq!(width, 600 + 150);
}
