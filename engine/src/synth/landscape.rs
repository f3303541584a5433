//! The synthetic landscape: land cover, per-class spectral behaviour through the seasons, and
//! abrupt changes (the ground truth CCDC is judged against).

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use super::noise::{quantile, value_noise};

/// Land cover classes of the synthetic tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cover {
    Water,
    Grass,
    Forest,
    Developed,
    Barren,
}

impl Cover {
    pub fn name(self) -> &'static str {
        match self {
            Cover::Water => "water",
            Cover::Grass => "grass",
            Cover::Forest => "forest",
            Cover::Developed => "developed",
            Cover::Barren => "barren",
        }
    }

    /// The NLCD class code of the cover (open water, grassland/herbaceous, deciduous forest,
    /// developed low intensity, barren land), as a label raster codes it.
    pub fn nlcd_code(self) -> u8 {
        match self {
            Cover::Water => 11,
            Cover::Grass => 71,
            Cover::Forest => 41,
            Cover::Developed => 22,
            Cover::Barren => 31,
        }
    }

    /// Mean surface reflectance x 10000 (blue, green, red, nir, swir1, swir2) and brightness
    /// temperature (K x 10).
    fn mean(self) -> [f64; 7] {
        match self {
            Cover::Water => [450.0, 550.0, 380.0, 180.0, 90.0, 60.0, 2870.0],
            Cover::Grass => [480.0, 780.0, 720.0, 2700.0, 2300.0, 1350.0, 2960.0],
            Cover::Forest => [290.0, 480.0, 330.0, 2900.0, 1500.0, 650.0, 2930.0],
            Cover::Developed => [850.0, 950.0, 1050.0, 1900.0, 2100.0, 1750.0, 3010.0],
            Cover::Barren => [950.0, 1250.0, 1550.0, 2150.0, 2950.0, 2350.0, 3030.0],
        }
    }

    /// Seasonal amplitude (at the summer peak, opposite in winter): green-up raises nir and lowers
    /// red; thermal follows the air temperature.
    fn amplitude(self) -> [f64; 7] {
        match self {
            Cover::Water => [20.0, 25.0, 15.0, 20.0, 10.0, 5.0, 90.0],
            Cover::Grass => [-90.0, 40.0, -280.0, 1100.0, 150.0, -200.0, 160.0],
            Cover::Forest => [-60.0, -40.0, -110.0, 800.0, 250.0, 90.0, 140.0],
            Cover::Developed => [15.0, 15.0, 10.0, 120.0, 40.0, 30.0, 180.0],
            Cover::Barren => [30.0, 30.0, 20.0, 60.0, 60.0, 40.0, 200.0],
        }
    }

    /// What the cover becomes after an abrupt change (forest cleared, grass built over, ...).
    fn changed(self) -> Cover {
        match self {
            Cover::Forest => Cover::Barren,
            Cover::Grass => Cover::Developed,
            Cover::Barren => Cover::Grass,
            Cover::Developed => Cover::Barren,
            Cover::Water => Cover::Water,
        }
    }

    /// Expected band values on day-of-year `doy`: a seasonal cycle peaking in late July, with a
    /// weaker second harmonic (the shape CCDC's harmonic model fits).
    pub fn spectrum(self, doy: f64) -> [f64; 7] {
        let phase = 2.0 * std::f64::consts::PI * (doy - 205.0) / 365.25;
        let seasonal = phase.cos() + 0.25 * (2.0 * phase).cos();
        let (mean, amp) = (self.mean(), self.amplitude());
        std::array::from_fn(|b| mean[b] + amp[b] * seasonal)
    }
}

/// One pixel's history.
#[derive(Clone, Copy, Debug)]
pub struct PixelHistory {
    pub cover: Cover,
    /// Brightness of this pixel relative to its class (soil, canopy and roof differences).
    pub gain: f64,
    /// Date32 day of the abrupt change, and what the cover becomes.
    pub change: Option<(i32, Cover)>,
}

impl PixelHistory {
    /// Years over which cleared land regrows towards grass.
    const RECOVERY_YEARS: f64 = 4.0;

    /// Expected band values of this pixel on a date.
    pub fn spectrum(&self, day: i32, doy: f64) -> [f64; 7] {
        let mut values = match self.change {
            Some((when, after)) if day >= when => {
                let cleared = after.spectrum(doy);
                if self.cover == Cover::Forest {
                    // A clear-cut greens up again: blend towards grass over the recovery years.
                    let t = (f64::from(day - when) / (365.25 * Self::RECOVERY_YEARS)).min(1.0);
                    let grass = Cover::Grass.spectrum(doy);
                    std::array::from_fn(|b| cleared[b] * (1.0 - 0.6 * t) + grass[b] * 0.6 * t)
                } else {
                    cleared
                }
            }
            _ => self.cover.spectrum(doy),
        };
        for v in &mut values[..6] {
            *v *= self.gain;
        }
        values
    }
}

/// The landscape of a synthetic tile.
pub struct Landscape {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<PixelHistory>,
    /// Smooth field deciding where snow lies first (low values hold snow longest).
    pub snow_field: Vec<f32>,
    /// The terrain field in [0, 1] that places water low and barren land high.
    pub terrain: Vec<f32>,
}

impl Landscape {
    /// A landscape with coherent land-cover regions and change patches covering about
    /// `change_fraction` of the land, each patch changing on one date between `first` and `last`.
    pub fn generate<R: Rng>(
        rng: &mut R,
        width: usize,
        height: usize,
        change_fraction: f64,
        (first, last): (i32, i32),
    ) -> Landscape {
        let scale = (width.max(height) as f64 / 3.0).max(8.0);
        let terrain = value_noise(rng, width, height, scale, 4);
        let built = value_noise(rng, width, height, scale / 2.0, 3);
        let patches = value_noise(rng, width, height, scale / 2.5, 3);
        let gain = value_noise(rng, width, height, 6.0, 2);
        let snow_field = value_noise(rng, width, height, scale, 3);

        let t = |q| quantile(&terrain, q);
        let (water, grass, forest) = (t(0.08), t(0.45), t(0.92));
        let developed = quantile(&built, 0.93);
        let changing = quantile(&patches, 1.0 - change_fraction.clamp(0.0, 1.0));

        // Change dates are drawn per block of 16 x 16 pixels, so a patch changes together.
        const BLOCK: usize = 16;
        let blocks_x = width.div_ceil(BLOCK);
        let block_dates: Vec<i32> = (0..blocks_x * height.div_ceil(BLOCK))
            .map(|_| rng.gen_range(first..=last.max(first)))
            .collect();

        let pixels = (0..width * height)
            .map(|i| {
                let v = terrain[i];
                let mut cover = if v < water {
                    Cover::Water
                } else if v < grass {
                    Cover::Grass
                } else if v < forest {
                    Cover::Forest
                } else {
                    Cover::Barren
                };
                if cover != Cover::Water && built[i] >= developed {
                    cover = Cover::Developed;
                }
                let change =
                    (cover != Cover::Water && change_fraction > 0.0 && patches[i] >= changing)
                        .then(|| {
                            let (x, y) = (i % width, i / width);
                            (
                                block_dates[(y / BLOCK) * blocks_x + x / BLOCK],
                                cover.changed(),
                            )
                        });
                PixelHistory {
                    cover,
                    gain: 0.9 + 0.2 * f64::from(gain[i]),
                    change,
                }
            })
            .collect();
        Landscape {
            width,
            height,
            pixels,
            snow_field,
            terrain,
        }
    }
}

/// Day of year of a date, as a float.
pub fn day_of_year(date: NaiveDate) -> f64 {
    f64::from(date.ordinal())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn vegetation_greens_up_in_summer() {
        let summer = Cover::Forest.spectrum(205.0);
        let winter = Cover::Forest.spectrum(20.0);
        assert!(summer[3] > winter[3] + 1000.0);
        let ndvi = |s: [f64; 7]| (s[3] - s[2]) / (s[3] + s[2]);
        assert!(ndvi(summer) > 0.8 && ndvi(Cover::Water.spectrum(205.0)) < 0.0);
    }

    #[test]
    fn change_fraction_is_respected_and_dates_in_range() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let land = Landscape::generate(&mut rng, 120, 120, 0.2, (1000, 2000));
        let changed: Vec<_> = land.pixels.iter().filter_map(|p| p.change).collect();
        let share = changed.len() as f64 / land.pixels.len() as f64;
        assert!((0.12..=0.21).contains(&share), "{share}");
        assert!(changed.iter().all(|(d, _)| (1000..=2000).contains(d)));
        let covers: std::collections::HashSet<_> = land.pixels.iter().map(|p| p.cover).collect();
        assert!(covers.len() >= 4, "{covers:?}");
    }
}
