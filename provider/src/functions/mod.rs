//! Provider functions (Terraform 1.8+): `provider::bankplatform::<name>(...)`.
//! One file per function; [`all`] is the visible list.

use std::sync::Arc;

use crate::framework::function::Function;

mod subnet_plan;

/// Every function of the provider.
pub fn all() -> Vec<Arc<dyn Function>> {
    vec![Arc::new(subnet_plan::SubnetPlan)]
}
