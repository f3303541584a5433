//! Everything ardent needs to run plans on a Ballista cluster, in one place. So far: the logical and
//! physical extension codecs that carry raster tables, raster scans and ardent's UDFs across process
//! boundaries (client to scheduler to executors).

mod codec;

pub use codec::{ArdentLogicalCodec, ArdentPhysicalCodec};
