//! ardent's integration tests, one binary: real GeoTIFF stacks written with GDAL, the `ardent`
//! binary run as a process, and an S3-compatible server started on loopback.

// Tests share tables and plans freely; the library code spells out `Arc::clone`.
#![allow(clippy::clone_on_ref_ptr)]

mod bad_input;
mod browser;
mod cache;
mod catalog;
mod ccdc;
mod cli;
mod cluster;
mod codec;
mod collection2;
mod common;
mod landcover;
mod map;
mod mesos;
mod object_store;
mod products;
mod pushdown;
mod udfs;
mod ui;
