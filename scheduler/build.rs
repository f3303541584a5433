//! Generates the Mesos v1 types from Apache Mesos' own protos (vendored under `proto/`, as
//! released in Mesos 1.11), with the descriptor set the JSON codec reads field names and enum
//! names from.

fn main() -> std::io::Result<()> {
    let protos = [
        "proto/mesos/v1/mesos.proto",
        "proto/mesos/v1/scheduler/scheduler.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors =
        std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("mesos_descriptors.bin");
    prost_build::Config::new()
        .file_descriptor_set_path(&descriptors)
        .enable_type_names()
        .compile_protos(&protos, &["proto"])
}
