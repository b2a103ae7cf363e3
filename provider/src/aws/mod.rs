//! The AWS client layer: the provider's configuration (region, credentials,
//! assume_role, endpoints, default_tags), and SDK clients built per
//! (account role, region) and cached, so that one provider process can serve
//! resources in many accounts and regions (`target { ... }` on a resource).

mod clients;
mod config;
mod errors;
pub mod retry;
mod s3control_host;

pub use clients::{Budget, Clients, ProviderCtx, Target};
pub use config::{provider_schema, ProviderSettings};
pub use errors::{empty_document, error_code, error_message, is_not_found};

/// The ARN partition of a region (`aws`, `aws-us-gov`, `aws-cn`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}
