//! Resource types, one file each, grouped by AWS service as in
//! terraform-provider-aws (`resources/<service>/<resource>.rs`). The
//! registry below is the visible list of everything the provider serves.

use std::sync::Arc;

use crate::framework::ResourceRegistry;

pub mod account;
pub mod cloudtrail;
mod common;
pub mod config;
pub mod dynamodb;
pub mod ec2;
pub mod guardduty;
pub mod iam;
mod kit;
pub mod kms;
mod logs;
pub mod organizations;
pub mod s3;
pub mod sns;

/// Every resource type of the provider.
pub fn registry() -> ResourceRegistry<crate::aws::ProviderCtx> {
    ResourceRegistry::new(vec![
        Arc::new(kit::composite::Kit::new(s3::CompliantBucket::new())),
        Arc::new(kit::composite::Kit::new(ec2::HardenedVpc::new())),
        Arc::new(kit::composite::Kit::new(kms::key::KmsKey::new())),
        Arc::new(kit::composite::Kit::new(
            cloudtrail::audit_trail::AuditTrail::new(),
        )),
        Arc::new(kit::composite::Kit::new(
            account::baseline::AccountBaseline::new(),
        )),
        Arc::new(kit::composite::Kit::new(
            config::recorder::ConfigRecorder::new(),
        )),
        Arc::new(kit::composite::Kit::new(
            config::aggregator::ConfigAggregator::new(),
        )),
        Arc::new(kit::composite::Kit::new(
            guardduty::threat_detection::ThreatDetection::new(),
        )),
        Arc::new(kit::composite::Kit::new(sns::alarm_topic::AlarmTopic::new())),
        Arc::new(kit::composite::Kit::new(
            dynamodb::table::DynamodbTable::new(),
        )),
        Arc::new(kit::composite::Kit::new(iam::deploy_role::DeployRole::new())),
        Arc::new(kit::composite::Kit::new(
            organizations::organization::Organization::new(),
        )),
    ])
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn repo() -> PathBuf {
        // Read at run time: a test binary reused from another checkout of the
        // same target dir must still look at this checkout.
        PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("..")
    }

    /// Every resource has an example, an acceptance-test file and a reference
    /// page generated from its schema (`UPDATE_DOCS=1` rewrites the pages).
    #[test]
    fn every_resource_has_example_tests_and_current_docs() {
        for r in super::registry().iter() {
            let short = r.type_name().trim_start_matches("bankplatform_");
            let example =
                std::fs::read_to_string(repo().join("examples").join(short).join("main.tf"))
                    .unwrap_or_else(|_| panic!("examples/{short}/main.tf is missing"));
            let tests = std::fs::read_dir(repo().join("acceptance-tests/tests")).unwrap();
            assert!(
                tests.flatten().any(|e| e
                    .file_name()
                    .to_string_lossy()
                    .ends_with(&format!("_{short}.rs"))),
                "acceptance-tests/tests/<service>_{short}.rs is missing"
            );
            let page = crate::framework::docs::resource_page(r.as_ref(), &example);
            let path = repo().join("docs/resources").join(format!("{short}.md"));
            if std::env::var_os("UPDATE_DOCS").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &page).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(on_disk == page, "docs/resources/{short}.md is stale: run UPDATE_DOCS=1 cargo test -p terraform-provider-bankplatform --lib");
        }
        for f in crate::functions::all() {
            let page = crate::framework::docs::function_page(f.as_ref());
            let path = repo()
                .join("docs/functions")
                .join(format!("{}.md", f.name()));
            if std::env::var_os("UPDATE_DOCS").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &page).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(on_disk == page, "docs/functions/{}.md is stale: run UPDATE_DOCS=1 cargo test -p terraform-provider-bankplatform --lib", f.name());
        }
    }

    #[test]
    fn every_schema_passes_terraform_rules() {
        for r in super::registry().iter() {
            let problems = r.schema().block.check(r.type_name());
            assert!(problems.is_empty(), "{}: {problems:?}", r.type_name());
            assert!(r.type_name().starts_with("bankplatform_"));
        }
    }
}
