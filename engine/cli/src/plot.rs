//! The CLI's pictures: the PNG preview of a map and the plot of one pixel's CCDC result, drawn with
//! plotters and written atomically.

use std::path::Path;

use ardent_engine::ccdc::PixelCsv;
use ardent_engine::map::MapImage;
use ardent_engine::output::write_atomically;
use ardent_udfs::kernels::ccdc::{CcdResult, BANDS};
use plotters::prelude::*;

/// Writes a PNG preview: the map in the viridis scale (grey for no data) with a legend.
pub fn map_png(map: &MapImage, path: &Path, title: &str) -> Result<(), String> {
    let (lo, hi) = map
        .range()
        .ok_or_else(|| format!("column '{}' has no values to map", map.column))?;
    let scale = (600 / map.grid.width.max(map.grid.height)).max(1) as u32;
    let (map_w, map_h) = (
        map.grid.width as u32 * scale,
        map.grid.height as u32 * scale,
    );
    let size = (map_w + 150, map_h + 70);
    write_atomically(path, |partial| {
        draw_map(map, partial, size, (map_w, scale), (lo, hi), title)
    })
    .map_err(|e| e.to_string())
}

fn draw_map(
    map: &MapImage,
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
    for (i, &v) in map.values.iter().enumerate() {
        let (r, c) = ((i / map.grid.width) as i32, (i % map.grid.width) as i32);
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
            map.column.clone(),
            (0, bar_h + 8),
            ("sans-serif", 14),
        ))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// Draws what lcmap-tap shows for a pixel: one panel per band with the observations (those the
/// procedure left out in grey), each segment's fitted curve, and its break as a dashed line.
pub fn pixel_plot(
    pixel: &PixelCsv,
    result: &CcdResult,
    avg_days_yr: f64,
    path: &Path,
) -> Result<(), String> {
    let mut order: Vec<usize> = (0..pixel.dates.len()).collect();
    order.sort_by_key(|&i| pixel.dates[i]);
    // The standard procedure works on thermal in C x 100; the single-model ones on K x 10.
    let celsius = result
        .change_models
        .first()
        .is_some_and(|m| m.curve_qa != 44 && m.curve_qa != 54);
    let year = |ordinal: f64| 1.0 + (ordinal - 1.0) / 365.2425;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    write_atomically(path, |partial| {
        let root = BitMapBackend::new(partial, (1400, 1600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((4, 2));
        let (first, last) = (
            pixel.dates[order[0]] as f64,
            pixel.dates[order[order.len() - 1]] as f64,
        );
        for (b, panel) in panels.iter().take(7).enumerate() {
            let value = |i: usize| {
                let v = pixel.bands[b][i];
                if b == 6 && celsius {
                    v * 10.0 - 27315.0
                } else {
                    v
                }
            };
            // Scaled to the observations the procedure used (cloud and saturation fall outside).
            let used = |k: usize| result.processing_mask.get(k).copied().unwrap_or(false);
            let shown: Vec<f64> = order
                .iter()
                .enumerate()
                .filter(|(k, _)| used(*k))
                .map(|(_, &i)| value(i))
                .collect();
            let lo = shown.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = shown.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let pad = (hi - lo) * 0.1;
            let (lo, hi) = if lo < hi {
                (lo - pad, hi + pad)
            } else {
                (0.0, 10000.0)
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(BANDS[b], ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(56)
                .build_cartesian_2d(year(first)..year(last), lo..hi)
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_label_formatter(&|y| format!("{y:.0}"))
                .draw()
                .map_err(|e| err(&e))?;
            let points = order.iter().enumerate().filter_map(|(k, &i)| {
                let v = value(i);
                (lo..=hi).contains(&v).then(|| {
                    let color = if used(k) {
                        BLUE.mix(0.8)
                    } else {
                        RGBColor(170, 170, 170).mix(0.6)
                    };
                    Circle::new((year(pixel.dates[i] as f64), v), 2, color.filled())
                })
            });
            chart.draw_series(points).map_err(|e| err(&e))?;
            for model in &result.change_models {
                let band = &model.bands[b];
                let (s, e) = (model.start_day as f64, model.end_day as f64);
                let curve = (0..=((e - s) / 4.0) as usize)
                    .map(|k| s + 4.0 * k as f64)
                    .map(|d| (year(d), band.predict(d, avg_days_yr).clamp(lo, hi)));
                chart
                    .draw_series(LineSeries::new(curve, RED.stroke_width(2)))
                    .map_err(|e| err(&e))?;
                if model.change_probability >= 1.0 {
                    let x = year(model.break_day as f64);
                    chart
                        .draw_series(DashedLineSeries::new(
                            [(x, lo), (x, hi)],
                            6,
                            4,
                            BLACK.stroke_width(1),
                        ))
                        .map_err(|e| err(&e))?;
                }
            }
        }
        root.present().map_err(|e| err(&e))
    })
    .map_err(|e| e.to_string())
}
