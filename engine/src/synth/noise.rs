//! Smooth random fields for spatially coherent land cover, clouds and snow.

use rand::Rng;

/// A `width` x `height` field of multi-octave value noise in `[0, 1)`, with features about `scale`
/// pixels across. Written here because the few lines needed do not justify a noise crate.
pub fn value_noise<R: Rng>(
    rng: &mut R,
    width: usize,
    height: usize,
    scale: f64,
    octaves: u32,
) -> Vec<f32> {
    let mut field = vec![0f32; width * height];
    let mut amplitude = 1.0f32;
    let mut total = 0.0f32;
    let mut cell = scale.max(1.0);
    for _ in 0..octaves {
        let (gw, gh) = (
            (width as f64 / cell) as usize + 2,
            (height as f64 / cell) as usize + 2,
        );
        let lattice: Vec<f32> = (0..gw * gh).map(|_| rng.gen::<f32>()).collect();
        for y in 0..height {
            let fy = y as f64 / cell;
            let (y0, ty) = (fy as usize, smooth(fy.fract()));
            for x in 0..width {
                let fx = x as f64 / cell;
                let (x0, tx) = (fx as usize, smooth(fx.fract()));
                let at = |ix: usize, iy: usize| lattice[iy * gw + ix];
                let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx;
                let bottom = at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx;
                field[y * width + x] += amplitude * (top * (1.0 - ty) + bottom * ty);
            }
        }
        total += amplitude;
        amplitude *= 0.5;
        cell = (cell / 2.0).max(1.0);
    }
    for v in &mut field {
        *v = (*v / total).min(0.999_999);
    }
    field
}

fn smooth(t: f64) -> f32 {
    (t * t * (3.0 - 2.0 * t)) as f32
}

/// The value below which a fraction `q` of the field lies.
pub fn quantile(field: &[f32], q: f64) -> f32 {
    if field.is_empty() {
        return 0.0;
    }
    let mut sorted = field.to_vec();
    let k = ((q.clamp(0.0, 1.0) * sorted.len() as f64) as usize).min(sorted.len() - 1);
    let (_, v, _) = sorted.select_nth_unstable_by(k, f32::total_cmp);
    *v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fields_are_in_range_and_smooth() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let f = value_noise(&mut rng, 64, 48, 16.0, 3);
        assert!(f.iter().all(|v| (0.0..1.0).contains(v)));
        // Neighbours differ far less than random pairs would.
        let step: f32 = f.windows(2).map(|w| (w[0] - w[1]).abs()).sum::<f32>() / f.len() as f32;
        assert!(step < 0.1, "{step}");
        let q = quantile(&f, 0.25);
        let below = f.iter().filter(|v| **v < q).count() as f64 / f.len() as f64;
        assert!((below - 0.25).abs() < 0.01, "{below}");
    }
}
