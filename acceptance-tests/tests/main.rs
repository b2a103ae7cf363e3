//! The acceptance-test binary: one module per resource, plus the harness's own tests.
//!
//! Everything here is skipped unless `TF_ACC` is set; see `acceptance-tests/README.md`.

mod account_account_baseline;
mod cloudtrail_audit_trail;
mod config_config_aggregator;
mod config_config_recorder;
mod dynamodb_dynamodb_table;
mod ec2_hardened_vpc;
mod examples;
mod faults;
mod guardduty_threat_detection;
mod harness_self_test;
mod iam_deploy_role;
mod kms_kms_key;
mod network_sizes;
mod organizations_organization;
mod platform_tree;
mod provider_functions;
mod release_install;
mod s3_compliant_bucket;
mod sns_alarm_topic;
