//! Per-pixel kernels for ardent and the thin DataFusion UDF wrappers around them.
//!
//! The [`kernels`] module is plain Rust over slices and scalars: no DataFusion or Arrow types, so each
//! kernel can be unit tested, benchmarked and reused on its own. The wrappers in this crate's
//! `wrappers` module adapt them to DataFusion [`ScalarUDF`]s that accept either scalars or per-pixel
//! lists (the `pixels` layout), and [`register_all`] installs every one of them in a session.
//!
//! ```
//! use datafusion::prelude::SessionContext;
//! let ctx = SessionContext::new();
//! ardent_udfs::register_all(&ctx);
//! assert!(ctx.state().scalar_functions().contains_key("ndvi"));
//! ```

#![forbid(unsafe_code)]

pub mod kernels;
mod wrappers;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

pub use wrappers::{
    CcdcUdf, ChangeProduct, ChangeProductUdf, CompositeUdf, CoverProduct, FeaturesUdf,
    LandcoverUdf, NormalizedDifferenceUdf, PredictUdf, QaUdf, QA_SCHEME_KEY,
};

/// Every scalar UDF that ardent provides, ready to register in a session or a function registry.
pub fn all_udfs() -> Vec<ScalarUDF> {
    let mut udfs = vec![
        ScalarUDF::new_from_impl(NormalizedDifferenceUdf::normalized_difference()),
        ScalarUDF::new_from_impl(NormalizedDifferenceUdf::ndvi()),
        ScalarUDF::new_from_impl(NormalizedDifferenceUdf::nbr()),
        ScalarUDF::new_from_impl(QaUdf::class()),
        ScalarUDF::new_from_impl(QaUdf::clear()),
        ScalarUDF::new_from_impl(CompositeUdf::new()),
        ScalarUDF::new_from_impl(CcdcUdf::new()),
        ScalarUDF::new_from_impl(CcdcUdf::update()),
        ScalarUDF::new_from_impl(FeaturesUdf::new()),
        ScalarUDF::new_from_impl(PredictUdf::new()),
        ScalarUDF::new_from_impl(LandcoverUdf::new()),
    ];
    udfs.extend(
        ChangeProduct::ALL
            .into_iter()
            .map(|p| ScalarUDF::new_from_impl(ChangeProductUdf::new(p))),
    );
    udfs
}

/// Registers [`all_udfs`] in `ctx`.
pub fn register_all(ctx: &SessionContext) {
    for udf in all_udfs() {
        ctx.register_udf(udf);
    }
}
