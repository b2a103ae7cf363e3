//! EC2 (networking) helpers shared by the network resources. The hardened
//! VPC resource (issue #3) builds on `subnet_plan`, which is also exposed to
//! configurations as the provider function `subnet_plan`.

mod hardened_vpc;
pub mod subnet_plan;
mod vpc_api;
mod vpc_model;

pub use hardened_vpc::HardenedVpc;
