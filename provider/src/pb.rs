//! Generated protobuf and gRPC code for `proto/`. Only `tfplugin6/` and
//! `plugin/` name these types; the rest of the crate works on `value`,
//! `framework` and `Diagnostics`.

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
mod generated {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

pub use generated::plugin;
pub use generated::tfplugin6;

/// Encoded `FileDescriptorSet` of every compiled proto (used by tests).
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn descriptor_set_decodes_and_has_the_provider_service() {
        let set = prost_types_shim::decode(super::FILE_DESCRIPTOR_SET);
        assert!(set.contains(&"tfplugin6".to_string()));
        assert!(set.contains(&"plugin".to_string()));
        let _ = super::tfplugin6::DynamicValue::default().encode_to_vec();
    }

    /// Minimal reading of a FileDescriptorSet (field 1: repeated FileDescriptorProto,
    /// whose field 2 is the package), enough to check what was compiled.
    mod prost_types_shim {
        #[derive(Clone, PartialEq, prost::Message)]
        struct FileDescriptorSet {
            #[prost(message, repeated, tag = "1")]
            file: Vec<FileDescriptorProto>,
        }
        #[derive(Clone, PartialEq, prost::Message)]
        struct FileDescriptorProto {
            #[prost(string, optional, tag = "2")]
            package: Option<String>,
        }
        pub(super) fn decode(bytes: &[u8]) -> Vec<String> {
            use prost::Message;
            FileDescriptorSet::decode(bytes)
                .expect("descriptor set decodes")
                .file
                .into_iter()
                .filter_map(|f| f.package)
                .collect()
        }
    }
}
