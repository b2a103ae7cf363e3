//! Helpers every resource uses: where a resource lives (its `target`
//! block), its SDK clients, and turning AWS errors into diagnostics.

use std::sync::Arc;

use crate::aws::{Clients, ProviderCtx, Target};
use crate::framework::Diagnostics;
use crate::value::Value;

/// The account/region a resource lives in, from its `target` block.
pub(crate) fn target_of(v: &Value) -> Target {
    let t = v.get("target");
    Target {
        assume_role_arn: t.get("assume_role_arn").as_str().map(str::to_string),
        region: t.get("region").as_str().map(str::to_string),
    }
}

/// One error diagnostic listing every failure.
pub(crate) fn error_diags(summary: &str, errors: &[String]) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error(summary, errors.join("\n"));
    d
}

/// The SDK clients for the resource described by `v`.
pub(crate) async fn clients(ctx: &ProviderCtx, v: &Value) -> Result<Arc<Clients>, Diagnostics> {
    ctx.clients(&target_of(v))
        .await
        .map_err(|e| error_diags("Cannot reach AWS", &[e]))
}
