//! Per-pixel kernels in plain Rust: scalars and slices in, scalars out, no engine types.

pub mod booster;
pub mod ccdc;
pub mod composite;
pub mod cover;
pub mod indices;
pub mod products;
pub mod qa;

/// The fill value of Landsat ARD surface reflectance and brightness temperature bands.
pub const FILL: i16 = -9999;
