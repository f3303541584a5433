//! Rendering one acquisition of the synthetic landscape: noise, clouds with their shadows, thin
//! unflagged haze, snow, Landsat 7 SLC-off gaps and scene-edge fill, and the C1 `pixel_qa` flags.

use ardent_udfs::kernels::FILL;
use chrono::NaiveDate;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::landscape::{day_of_year, Cover, Landscape};
use super::noise::{quantile, value_noise};
use crate::ard::Sensor;
use crate::catalog::date32;

/// The bands of one acquisition: blue ... thermal as Int16, then `pixel_qa`.
pub struct Scene {
    pub bands: [Vec<i16>; 7],
    pub qa: Vec<u16>,
    /// Share of pixels flagged cloud.
    pub cloud_cover: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Sky {
    Clear,
    Haze(f32),
    Cloud,
    Shadow,
}

const CLOUD: [f64; 7] = [5600.0, 5450.0, 5300.0, 5600.0, 4100.0, 2900.0, 2560.0];
const SNOW: [f64; 7] = [8600.0, 8400.0, 8100.0, 7100.0, 900.0, 650.0, 2660.0];
/// C1 `pixel_qa` values: bit 1 clear, 2 water, 3 shadow, 4 snow, 5 cloud, 6-7 cloud confidence,
/// 8 low cirrus confidence (Landsat 8 only); 1 is fill.
fn qa_value(sensor: Sensor, flags: u16, cloud: bool) -> u16 {
    let confidence = if cloud { 0b11 << 6 } else { 0b01 << 6 };
    let cirrus = if sensor == Sensor::Lc08 { 1 << 8 } else { 0 };
    flags | confidence | cirrus
}

/// Renders the landscape as `sensor` saw it on `date`, with a mean cloud cover of `cloud_mean`.
pub fn render<R: Rng>(
    land: &Landscape,
    date: NaiveDate,
    sensor: Sensor,
    cloud_mean: f64,
    rng: &mut R,
) -> Scene {
    let (w, h) = (land.width, land.height);
    let n = w * h;
    let day = date32(date);
    let doy = day_of_year(date);

    // Cloud cover of the scene: mostly clear scenes, some overcast (exponential around the mean).
    let cover = if cloud_mean > 0.0 {
        (-cloud_mean * (1.0 - rng.gen::<f64>()).ln()).min(0.97)
    } else {
        0.0
    };
    let mut sky = vec![Sky::Clear; n];
    if cover > 0.002 {
        let field = value_noise(rng, w, h, (w.max(h) as f64 / 5.0).max(6.0), 4);
        let threshold = quantile(&field, 1.0 - cover);
        let haze = threshold - 0.04;
        let (dx, dy) = (rng.gen_range(3..12usize), rng.gen_range(3..12usize));
        for i in 0..n {
            if field[i] >= threshold {
                sky[i] = Sky::Cloud;
            } else if field[i] >= haze {
                sky[i] = Sky::Haze((field[i] - haze) / 0.04);
            }
        }
        for y in 0..h.saturating_sub(dy) {
            for x in 0..w.saturating_sub(dx) {
                let shadow = (y + dy) * w + x + dx;
                if sky[y * w + x] == Sky::Cloud && sky[shadow] != Sky::Cloud {
                    sky[shadow] = Sky::Shadow;
                }
            }
        }
    }

    // Winter snow in about half the winter scenes, lying first where the snow field is low.
    let winter = !(80.0..=330.0).contains(&doy);
    let snow_line = (winter && rng.gen_bool(0.5)).then(|| rng.gen_range(0.15f32..0.9));

    // Landsat 7's scan-line corrector failed on 2003-05-31: wedge-shaped gaps of fill since.
    let slc_off =
        sensor == Sensor::Le07 && date >= NaiveDate::from_ymd_opt(2003, 5, 31).expect("date");
    let stripe_phase = rng.gen_range(0.0..33.0);
    // A few scenes end inside the tile: fill beyond a diagonal edge.
    let edge = rng
        .gen_bool(0.04)
        .then(|| rng.gen_range(0.3..1.6) * (w + h) as f64 / 2.0);

    let mut bands: [Vec<i16>; 7] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut qa = Vec::with_capacity(n);
    let unit = Normal::new(0.0, 1.0).expect("unit normal");
    let mut clouds = 0usize;
    for i in 0..n {
        let (x, y) = (i % w, i / w);
        let gap = slc_off && ((x as f64 + 0.27 * y as f64 + stripe_phase) % 33.0) < 2.0;
        let beyond_edge = edge.is_some_and(|e| (x + y) as f64 > e);
        if gap || beyond_edge {
            for band in &mut bands {
                band.push(FILL);
            }
            qa.push(1);
            continue;
        }
        let pixel = &land.pixels[i];
        let mut values = pixel.spectrum(day, doy);
        let current = match pixel.change {
            Some((when, after)) if day >= when => after,
            _ => pixel.cover,
        };
        let snowy = current != Cover::Water && snow_line.is_some_and(|s| land.snow_field[i] < s);
        let (flags, cloud) = match sky[i] {
            Sky::Cloud => {
                let opacity = rng.gen_range(0.8..1.0);
                blend(&mut values, &CLOUD, opacity);
                clouds += 1;
                (1 << 5, true)
            }
            Sky::Shadow => {
                for v in &mut values[..6] {
                    *v *= 0.35;
                }
                values[6] -= 30.0;
                (1 << 3, false)
            }
            sky => {
                if snowy {
                    blend(&mut values, &SNOW, rng.gen_range(0.85..1.0));
                }
                if let Sky::Haze(t) = sky {
                    // Thin cloud the mask missed: the outliers CCDC's screening must handle.
                    blend(&mut values, &CLOUD, 0.35 * f64::from(t));
                }
                let flags = if snowy {
                    1 << 4
                } else if current == Cover::Water {
                    1 << 2
                } else {
                    1 << 1
                };
                (flags, false)
            }
        };
        for (b, v) in values.iter().enumerate() {
            let sigma = if b == 6 { 12.0 } else { 20.0 + 0.015 * v.abs() };
            let noisy = v + sigma * unit.sample(rng);
            bands[b].push(noisy.round().clamp(-2000.0, 16000.0) as i16);
        }
        qa.push(qa_value(sensor, flags, cloud));
    }
    Scene {
        bands,
        qa,
        cloud_cover: clouds as f64 / n as f64,
    }
}

fn blend(values: &mut [f64; 7], target: &[f64; 7], t: f64) {
    for (v, c) in values.iter_mut().zip(target) {
        *v = *v * (1.0 - t) + c * t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ardent_udfs::kernels::qa::{classify, QaClass, QaScheme};
    use rand::SeedableRng;

    fn land() -> Landscape {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        Landscape::generate(&mut rng, 80, 80, 0.1, (16000, 17000))
    }

    #[test]
    fn qa_flags_match_the_values() {
        let land = land();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let date = NaiveDate::from_ymd_opt(2016, 7, 1).unwrap();
        let scene = render(&land, date, Sensor::Lc08, 0.5, &mut rng);
        for (i, &q) in scene.qa.iter().enumerate() {
            let class = classify(q, QaScheme::C1);
            assert_ne!(class, QaClass::Unclassified, "pixel {i}: {q}");
            match class {
                QaClass::Fill => assert_eq!(scene.bands[0][i], FILL),
                QaClass::Cloud => {
                    assert!(scene.bands[0][i] > 3000, "cloud blue {}", scene.bands[0][i])
                }
                _ => assert!(scene.bands[0][i] > -2001),
            }
        }
    }

    #[test]
    fn clear_summer_scene_has_green_land() {
        let land = land();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let date = NaiveDate::from_ymd_opt(2015, 7, 20).unwrap();
        let scene = render(&land, date, Sensor::Lt05, 0.0, &mut rng);
        assert_eq!(scene.cloud_cover, 0.0);
        let forest: Vec<usize> = (0..land.pixels.len())
            .filter(|&i| land.pixels[i].cover == Cover::Forest && land.pixels[i].change.is_none())
            .collect();
        assert!(!forest.is_empty());
        let ndvi: f64 = forest
            .iter()
            .map(|&i| {
                let (r, n) = (f64::from(scene.bands[2][i]), f64::from(scene.bands[3][i]));
                (n - r) / (n + r)
            })
            .sum::<f64>()
            / forest.len() as f64;
        assert!(ndvi > 0.75, "{ndvi}");
        assert!(
            scene.qa.iter().all(|&q| q == 66 || q == 68),
            "TM clear land/water codes"
        );
    }
}
