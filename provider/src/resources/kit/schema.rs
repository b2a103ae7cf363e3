//! Schema pieces every composite shares.

use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::validators::{arn, Validator};
use crate::framework::Diagnostics;
use crate::value::{AttrPath, Value};

/// A region name as AWS spells them: `eu-west-1`, `us-gov-west-1`, `ap-southeast-4`.
pub(crate) struct RegionName;

impl Validator for RegionName {
    fn description(&self) -> String {
        "must be a region name such as eu-west-1".into()
    }
    fn validate(&self, path: &AttrPath, value: &Value, diags: &mut Diagnostics) {
        let Some(r) = value.as_str() else { return };
        let parts: Vec<&str> = r.split('-').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            diags.attr_error(
                path.clone(),
                "Invalid region",
                format!("{path} is \"{r}\", which is not a region name such as eu-west-1."),
            );
        }
    }
}

/// The `target` block: where a composite lives when not in the provider's own
/// account and region, served by the same provider block.
pub(crate) fn target_block(what: &str) -> NestedBlock {
    NestedBlock::single(
        "target",
        Block {
            description: format!(
                "Put this {what} in another account or region than the provider's, from the same provider block."
            ),
            attributes: vec![
                Attribute::string("assume_role_arn")
                    .optional()
                    .requires_replace()
                    .validate(arn(
                        "iam",
                        "role/",
                        "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole",
                    ))
                    .describe("Role to assume in the other account."),
                Attribute::string("region")
                    .optional()
                    .requires_replace()
                    .validate(RegionName)
                    .describe("Region, when not the provider's."),
            ],
            blocks: vec![],
        },
    )
}

/// `attr` (when known) must be 1 to `max` letters, digits, `-` or `_`: AWS's rule
/// for the names of topics, aggregators and the like. `what` names it in the error.
pub(crate) fn check_name(
    config: &Value,
    attr: &str,
    max: usize,
    what: &str,
    diags: &mut Diagnostics,
) {
    let Some(name) = config.get(attr).as_str() else {
        return;
    };
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        diags.attr_error(
            AttrPath::root(attr),
            format!("Invalid {what} name"),
            format!("\"{name}\" must be 1 to {max} letters, digits, '-' or '_'."),
        );
    }
}

/// Each element of the list `attr` must be a region name (checked when known).
pub(crate) fn check_regions(config: &Value, attr: &str, diags: &mut Diagnostics) {
    for (i, r) in config.get(attr).string_list().iter().enumerate() {
        RegionName.validate(
            &AttrPath::root(attr).index(i as i64),
            &Value::string(r),
            diags,
        );
    }
}

/// `a` (at `path`) must be a 12-digit account id.
pub(crate) fn check_account_id(path: AttrPath, a: &str, diags: &mut Diagnostics) {
    if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
        diags.attr_error(
            path,
            "Invalid account id",
            format!("\"{a}\" is not a 12-digit AWS account id."),
        );
    }
}

/// Each element of the list `attr` must be a 12-digit account id (checked when known).
pub(crate) fn check_account_ids(config: &Value, attr: &str, diags: &mut Diagnostics) {
    for (i, a) in config.get(attr).string_list().iter().enumerate() {
        check_account_id(AttrPath::root(attr).index(i as i64), a, diags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_checked_for_shape() {
        for (r, ok) in [
            ("eu-west-1", true),
            ("us-gov-west-1", true),
            ("eu-west1", false),
            ("EU-WEST-1", false),
            ("eu-west-", false),
        ] {
            let mut d = Diagnostics::new();
            RegionName.validate(&AttrPath::root("region"), &Value::string(r), &mut d);
            assert_eq!(!d.has_errors(), ok, "{r}");
        }
    }
}
