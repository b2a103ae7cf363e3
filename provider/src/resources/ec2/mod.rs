//! EC2 (networking) helpers shared by the network resources. The hardened
//! VPC resource (issue #3) builds on `subnet_plan`, which is also exposed to
//! configurations as the provider function `subnet_plan`.

pub mod subnet_plan;
