//! S3 resources. `compliant_bucket.rs` is the resource (schema, planning,
//! lifecycle); `bucket_model.rs` holds the pure parts it is built from
//! (purpose defaults, the desired configuration, the bucket policy, the
//! compliance checks over what AWS reports) so they can be unit-tested;
//! `bucket_api.rs` holds the S3, KMS and IAM calls.

mod bucket_api;
mod bucket_model;
mod compliant_bucket;

pub use compliant_bucket::CompliantBucket;
