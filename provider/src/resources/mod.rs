//! Resource types, one file each, grouped by AWS service as in
//! terraform-provider-aws (`resources/<service>/<resource>.rs`). The
//! registry below is the visible list of everything the provider serves.

use std::sync::Arc;

use crate::framework::ResourceRegistry;

pub mod s3;

/// Every resource type of the provider.
pub fn registry() -> ResourceRegistry {
    ResourceRegistry::new(vec![Arc::new(s3::CompliantBucket::new())])
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_passes_terraform_rules() {
        for r in super::registry().iter() {
            let problems = r.schema().block.check(r.type_name());
            assert!(problems.is_empty(), "{}: {problems:?}", r.type_name());
            assert!(r.type_name().starts_with("bankplatform_"));
        }
    }
}
