//! Compiles `../proto/*.proto` into tonic/prost server code with the protoc
//! binary bundled by `protoc-bin-vendored`, so no system protobuf compiler is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts are single-threaded; prost-build reads PROTOC.
    std::env::set_var("PROTOC", protoc);
    let protos = [
        "../proto/tfplugin6.proto",
        "../proto/grpc_controller.proto",
        "../proto/grpc_stdio.proto",
    ];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .file_descriptor_set_path(
            std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("descriptor.bin"),
        )
        .compile_protos(&protos, &["../proto"])?;
    Ok(())
}
