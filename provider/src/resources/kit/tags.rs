//! Tags, once for every composite: the provider's `default_tags` merged with the
//! resource's `tags` (the resource wins), into `tags_all`, which every child gets.
//!
//! At plan time a tag value may be unknown (`tags = { owner = aws_x.y.id }`): then
//! `tags_all` is unknown, and at apply time, when every value is known, it is
//! merged again, so no tag is dropped.

use std::collections::BTreeMap;

use crate::framework::{validators, Diagnostics};
use crate::value::{AttrPath, Value};

/// Tag-key prefixes the provider and AWS reserve: never the user's, never in `tags_all`.
pub(crate) const RESERVED: &[&str] = &["bankplatform:", "aws:"];

fn reserved(key: &str) -> bool {
    RESERVED.iter().any(|p| key.starts_with(p))
}

/// `tags` within AWS's limits and free of reserved keys, with attribute paths.
pub(crate) fn validate(config: &Value, diags: &mut Diagnostics) {
    let tags = config.get("tags");
    validators::aws_tags(AttrPath::root("tags"), tags, diags);
    for k in tags.as_map().into_iter().flatten().map(|(k, _)| k) {
        if reserved(k) {
            diags.attr_error(
                AttrPath::root("tags").key(k),
                "Reserved tag key",
                format!(
                    "Tag keys starting with {} are reserved.",
                    RESERVED.join(" or ")
                ),
            );
        }
    }
}

/// What makes an object's tags (`have`, as AWS reports them) `want`: the tags to
/// write, and the keys to remove. Reserved keys (the lifecycle marker, a purpose) are
/// never removed, only written when wanted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TagChanges {
    pub(crate) missing: Vec<(String, String)>,
    pub(crate) stale: Vec<String>,
}

/// The [`TagChanges`] from `have` to `want`.
pub(crate) fn changes(
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> TagChanges {
    TagChanges {
        missing: want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        stale: have
            .keys()
            .filter(|k| !reserved(k) && !want.contains_key(*k))
            .cloned()
            .collect(),
    }
}

/// Brings an object's tags (`have`) to `want` with the service's own calls: `tag`
/// writes the missing or changed ones, `untag` removes the stale keys, concurrently;
/// neither is called when it has nothing to do. Each returns the error text.
pub(crate) async fn write<T, U, TF, UF>(
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    tag: T,
    untag: U,
) -> Vec<String>
where
    T: FnOnce(Vec<(String, String)>) -> TF,
    U: FnOnce(Vec<String>) -> UF,
    TF: std::future::Future<Output = Result<(), String>>,
    UF: std::future::Future<Output = Result<(), String>>,
{
    let TagChanges { missing, stale } = changes(have, want);
    let (t, u) = tokio::join!(
        async {
            if missing.is_empty() {
                Ok(())
            } else {
                tag(missing).await
            }
        },
        async {
            if stale.is_empty() {
                Ok(())
            } else {
                untag(stale).await
            }
        },
    );
    [t, u].into_iter().filter_map(Result::err).collect()
}

/// What AWS reports, without the reserved keys: the `tags_all` of a state.
pub(crate) fn own(tags: &BTreeMap<String, String>) -> Value {
    Value::string_map(
        tags.iter()
            .filter(|(k, _)| !reserved(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The `tags` an import reads back: what AWS reports, without reserved keys and
/// without what the provider's `default_tags` put there.
pub(crate) fn imported(
    tags: &BTreeMap<String, String>,
    defaults: &BTreeMap<String, String>,
) -> Option<Value> {
    let user: BTreeMap<String, String> = tags
        .iter()
        .filter(|(k, v)| !reserved(k) && defaults.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!user.is_empty()).then(|| Value::string_map(user))
}

/// The planned `tags_all` (every value known at apply time).
pub(crate) fn all(planned: &Value) -> BTreeMap<String, String> {
    planned
        .get("tags_all")
        .as_map()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

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
