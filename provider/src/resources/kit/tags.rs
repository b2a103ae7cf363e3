//! Tags, once for every composite: the provider's `default_tags` merged with the
//! resource's `tags` (the resource wins), into `tags_all`, which every child gets.
//!
//! At plan time a tag value may be unknown (`tags = { owner = aws_x.y.id }`): then
//! `tags_all` is unknown, and at apply time, when every value is known, it is
//! merged again, so no tag is dropped.

use std::collections::BTreeMap;

use crate::value::Value;

/// `default_tags` merged with `tags`; unknown while any of `tags` is unknown.
pub(crate) fn merged(defaults: &BTreeMap<String, String>, tags: &Value) -> Value {
    if !tags.is_fully_known() {
        return Value::unknown();
    }
    let mut all = defaults.clone();
    for (k, v) in tags.as_map().into_iter().flatten() {
        if let Some(v) = v.as_str() {
            all.insert(k.clone(), v.to_string());
        }
    }
    Value::string_map(all)
}

/// `planned` with `tags_all` merged now, if the plan could not know it.
pub(crate) fn resolved(mut planned: Value, defaults: &BTreeMap<String, String>) -> Value {
    if planned
        .as_object()
        .is_some_and(|o| o.contains_key("tags_all"))
        && !planned.get("tags_all").is_fully_known()
    {
        let all = merged(defaults, planned.get("tags"));
        planned.set_attr("tags_all", all);
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_make_tags_all_unknown_until_apply() {
        let defaults: BTreeMap<String, String> =
            [("team".to_string(), "platform".to_string())].into();
        let tags = Value::Map(
            [
                ("owner".to_string(), Value::unknown()),
                ("team".to_string(), Value::string("payments")),
            ]
            .into(),
        );
        assert!(!merged(&defaults, &tags).is_known());
        let mut planned = Value::object([("tags", tags), ("tags_all", Value::unknown())]);
        // At apply the value is known.
        planned.set_attr(
            "tags",
            Value::string_map([("owner", "ops"), ("team", "payments")]),
        );
        let p = resolved(planned, &defaults);
        assert_eq!(
            p.get("tags_all"),
            &Value::string_map([("owner", "ops"), ("team", "payments")])
        );
    }
}
