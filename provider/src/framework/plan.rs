//! Planning and validation rules, implemented once for every resource, in a
//! fixed order (as terraform-plugin-framework's fwserver does):
//!
//! 1. a destroy plan stays null;
//! 2. schema defaults fill attributes the configuration leaves null;
//! 3. computed attributes the configuration leaves null become unknown on
//!    create, and on update when anything else changes — unless they carry
//!    `UseStateForUnknown`, which keeps the prior value;
//! 4. the resource's own `modify_plan` runs;
//! 5. `RequiresReplace` paths whose value differs between prior and plan are
//!    collected, sorted and de-duplicated (never on create).
//!
//! Terraform then checks the plan (`AssertPlanValid`): configured values must
//! be kept, so rule 3 never touches an attribute the configuration sets.

use super::diag::Diagnostics;
use super::resource::{PlanRequest, Resource};
use super::schema::{Attribute, AttributeKind, NestedBlock, Nesting, PlanModifier};
use crate::value::{AttrPath, Value};

/// The outcome of planning one resource instance.
#[derive(Debug)]
pub struct PlanOutcome {
    /// The planned new state (null for destroy).
    pub planned: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttrPath>,
    /// Problems found.
    pub diags: Diagnostics,
}

/// Runs validators of every attribute (recursively, into nested attributes
/// and blocks) and the resource's own whole-configuration checks.
pub fn validate_config<C: Send + Sync + 'static>(
    resource: &dyn Resource<Ctx = C>,
    config: &Value,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let block = &resource.schema().block;
    validate_object(
        &block.attributes,
        &block.blocks,
        config,
        &AttrPath::new(),
        &mut diags,
    );
    resource.validate_config(config, &mut diags);
    diags
}

/// The elements of a repeated value with their paths (set elements have no
/// addressable path: they get the set's own path).
fn elements<'v>(nesting: Nesting, v: &'v Value, path: &AttrPath) -> Vec<(AttrPath, &'v Value)> {
    match nesting {
        Nesting::Single | Nesting::Group => vec![(path.clone(), v)],
        Nesting::List => v
            .as_list()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, el)| (path.index(i as i64), el))
            .collect(),
        Nesting::Set => v
            .as_list()
            .unwrap_or(&[])
            .iter()
            .map(|el| (path.clone(), el))
            .collect(),
        Nesting::Map => v
            .as_map()
            .into_iter()
            .flatten()
            .map(|(k, el)| (path.key(k), el))
            .collect(),
    }
}

/// Runs attribute validators over an object value (recursively).
pub fn validate_object(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    obj: &Value,
    at: &AttrPath,
    diags: &mut Diagnostics,
) {
    for a in attrs {
        let v = obj.get(a.name);
        let path = at.attr(a.name);
        if v.is_null() || !v.is_known() {
            continue;
        }
        for validator in &a.validators {
            validator.validate(&path, v, diags);
        }
        if let AttributeKind::Nested {
            nesting,
            attributes,
        } = &a.kind
        {
            for (p, el) in elements(*nesting, v, &path) {
                validate_object(attributes, &[], el, &p, diags);
            }
        }
    }
    for b in blocks {
        let v = obj.get(b.type_name);
        if v.is_null() || !v.is_known() {
            continue;
        }
        for (p, el) in elements(b.nesting, v, &at.attr(b.type_name)) {
            validate_object(&b.block.attributes, &b.block.blocks, el, &p, diags);
        }
    }
}

/// Whether `state` keeps every value `planned` knew (unknowns accept anything, maps
/// keep their keys, lists their length): Terraform's rule for the result of an
/// apply, which it reports as "Provider produced inconsistent result after apply".
pub fn conforms(planned: &Value, state: &Value) -> bool {
    if !planned.is_known() {
        return true;
    }
    match (planned, state) {
        (Value::Object(p), Value::Object(s)) => p
            .iter()
            .all(|(k, v)| s.get(k).is_some_and(|sv| conforms(v, sv))),
        (Value::Map(p), Value::Map(s)) => {
            p.len() == s.len()
                && p.iter()
                    .all(|(k, v)| s.get(k).is_some_and(|sv| conforms(v, sv)))
        }
        (Value::List(p), Value::List(s))
        | (Value::Set(p), Value::Set(s))
        | (Value::Tuple(p), Value::Tuple(s)) => {
            p.len() == s.len() && p.iter().zip(s).all(|(a, b)| conforms(a, b))
        }
        _ => planned == state,
    }
}

/// Plans one resource instance change.
pub async fn plan_resource_change<C: Send + Sync + 'static>(
    resource: &dyn Resource<Ctx = C>,
    ctx: Option<&C>,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> PlanOutcome {
    // Rule 1: destroy.
    if proposed.is_null() {
        return PlanOutcome {
            planned: Value::Null,
            requires_replace: Vec::new(),
            diags: Diagnostics::new(),
        };
    }
    let block = &resource.schema().block;
    let create = prior.is_null();

    // Rule 2: defaults.
    let mut planned = proposed.clone();
    apply_defaults(&block.attributes, &block.blocks, config, &mut planned);

    // Rule 3: computed values.
    let changed = create || !planned.semantically_equal(prior);
    mark_computed(
        &block.attributes,
        &block.blocks,
        config,
        prior,
        &mut planned,
        create,
        changed,
    );

    // Rule 4: the resource's hook.
    let mut req = PlanRequest {
        config,
        prior,
        planned,
        requires_replace: Vec::new(),
        diags: Diagnostics::new(),
        ctx,
    };
    resource.modify_plan(&mut req).await;
    let PlanRequest {
        planned,
        mut requires_replace,
        diags,
        ..
    } = req;

    // Rule 5: replacement.
    if create {
        requires_replace.clear();
    } else {
        collect_requires_replace(
            &block.attributes,
            &block.blocks,
            prior,
            &planned,
            &AttrPath::new(),
            &mut requires_replace,
        );
        requires_replace.sort();
        requires_replace.dedup();
    }
    PlanOutcome {
        planned,
        requires_replace,
        diags,
    }
}

/// The child slot of an object value, created as an object of nulls when a
/// group block arrives null.
fn child_slot<'v>(planned: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    planned.as_object_mut().and_then(|o| o.get_mut(name))
}

fn apply_defaults(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    planned: &mut Value,
) {
    for a in attrs {
        let cv = config.get(a.name);
        if cv.is_null() {
            if let Some(d) = &a.default {
                planned.set_attr(a.name, d.clone());
            }
            continue;
        }
        if let AttributeKind::Nested {
            nesting: Nesting::Single,
            attributes,
        } = &a.kind
        {
            if cv.is_known() {
                if let Some(p) = child_slot(planned, a.name) {
                    apply_defaults(attributes, &[], cv, p);
                }
            }
        }
    }
    for b in blocks {
        let cv = config.get(b.type_name);
        if !cv.is_known() || cv.is_null() {
            continue;
        }
        if matches!(b.nesting, Nesting::Single | Nesting::Group) {
            if let Some(p) = child_slot(planned, b.type_name) {
                apply_defaults(&b.block.attributes, &b.block.blocks, cv, p);
            }
        }
    }
}

fn mark_computed(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    prior: &Value,
    planned: &mut Value,
    create: bool,
    changed: bool,
) {
    for a in attrs {
        let cv = config.get(a.name);
        let pv = prior.get(a.name);
        if a.computed && cv.is_null() && a.default.is_none() {
            let keep = !create && (!changed || a.has(PlanModifier::UseStateForUnknown));
            let v = if keep && !pv.is_null() {
                pv.clone()
            } else if keep && !changed {
                Value::Null
            } else {
                Value::unknown()
            };
            planned.set_attr(a.name, v);
            continue;
        }
        // Configured nested attributes: apply the rule inside them.
        let AttributeKind::Nested {
            nesting,
            attributes,
        } = &a.kind
        else {
            continue;
        };
        if !cv.is_known() || cv.is_null() {
            continue;
        }
        if let Some(slot) = child_slot(planned, a.name) {
            mark_nested(*nesting, attributes, &[], cv, pv, slot, create, changed);
        }
    }
    for b in blocks {
        let cv = config.get(b.type_name);
        if !cv.is_known() || cv.is_null() {
            continue;
        }
        let pv = prior.get(b.type_name);
        if let Some(slot) = child_slot(planned, b.type_name) {
            if slot.is_null() && b.nesting == Nesting::Group {
                *slot = Value::null_object(&b.block.implied_type());
            }
            mark_nested(
                b.nesting,
                &b.block.attributes,
                &b.block.blocks,
                cv,
                pv,
                slot,
                create,
                changed,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn mark_nested(
    nesting: Nesting,
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    config: &Value,
    prior: &Value,
    slot: &mut Value,
    create: bool,
    changed: bool,
) {
    match nesting {
        Nesting::Single | Nesting::Group => {
            // A block or object that did not exist before is created with the resource's change.
            let item_create = create || prior.is_null();
            mark_computed(
                attrs,
                blocks,
                config,
                prior,
                slot,
                item_create,
                changed || item_create,
            );
        }
        Nesting::List => {
            let prior_items = prior.as_list().unwrap_or(&[]);
            let config_items = config.as_list().unwrap_or(&[]);
            if let Value::List(items) = slot {
                for (i, item) in items.iter_mut().enumerate() {
                    let c = config_items.get(i).unwrap_or(&Value::NULL);
                    let p = prior_items.get(i).unwrap_or(&Value::NULL);
                    let item_create = create || p.is_null();
                    mark_computed(
                        attrs,
                        blocks,
                        c,
                        p,
                        item,
                        item_create,
                        changed || item_create,
                    );
                }
            }
        }
        // Set and map elements cannot be correlated with prior ones here;
        // resources that nest computed values in them plan them in modify_plan.
        Nesting::Set | Nesting::Map => {}
    }
}

fn collect_requires_replace(
    attrs: &[Attribute],
    blocks: &[NestedBlock],
    prior: &Value,
    planned: &Value,
    at: &AttrPath,
    out: &mut Vec<AttrPath>,
) {
    for a in attrs {
        let path = at.attr(a.name);
        let pv = prior.get(a.name);
        let nv = planned.get(a.name);
        let changed = !nv.is_known() || !nv.semantically_equal(pv);
        let replaces = a.has(PlanModifier::RequiresReplace)
            || a.replace_when
                .is_some_and(|(when, _)| !nv.is_known() || when(pv, nv));
        if changed && replaces {
            out.push(path.clone());
        }
        if let AttributeKind::Nested {
            nesting: Nesting::Single,
            attributes,
        } = &a.kind
        {
            if nv.is_known() && !(nv.is_null() && pv.is_null()) {
                collect_requires_replace(attributes, &[], pv, nv, &path, out);
            }
        }
    }
    for b in blocks {
        let pv = prior.get(b.type_name);
        let nv = planned.get(b.type_name);
        if matches!(b.nesting, Nesting::Single | Nesting::Group)
            && nv.is_known()
            && !(nv.is_null() && pv.is_null())
        {
            collect_requires_replace(
                &b.block.attributes,
                &b.block.blocks,
                pv,
                nv,
                &at.attr(b.type_name),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::resource::ApplyResult;
    use crate::framework::schema::{Block, Schema};
    use crate::value::Type;
    use async_trait::async_trait;

    struct Thing(Schema);

    #[async_trait]
    impl Resource for Thing {
        type Ctx = ();
        fn type_name(&self) -> &'static str {
            "bankplatform_thing"
        }
        fn schema(&self) -> &Schema {
            &self.0
        }
        async fn create(&self, _: &(), _: &Value) -> ApplyResult {
            unreachable!()
        }
        async fn read(&self, _: &(), _: &Value) -> (Option<Value>, Diagnostics) {
            unreachable!()
        }
        async fn update(&self, _: &(), _: &Value, _: &Value) -> ApplyResult {
            unreachable!()
        }
        async fn delete(&self, _: &(), _: &Value) -> Diagnostics {
            unreachable!()
        }
    }

    fn thing() -> Thing {
        Thing(Schema {
            version: 0,
            block: Block {
                description: String::new(),
                attributes: vec![
                    Attribute::string("id").computed().use_state_for_unknown(),
                    Attribute::string("name").required().requires_replace(),
                    Attribute::typed("tags", Type::map(Type::String)).optional(),
                    Attribute::string("etag").computed(),
                    Attribute::bool("force")
                        .default(Value::Bool(false))
                        .requires_replace_when(
                            |prior, planned| {
                                prior.as_bool() == Some(true) && planned.as_bool() == Some(false)
                            },
                            "Turning it off replaces the resource.",
                        ),
                    Attribute::nested(
                        "lock",
                        Nesting::Single,
                        vec![
                            Attribute::string("mode").optional().computed(),
                            Attribute::number("days").required(),
                        ],
                    )
                    .optional(),
                ],
                blocks: vec![],
            },
        })
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let t = thing();
        let mut o = Value::null_object(&t.0.block.implied_type());
        for (k, v) in pairs {
            o.set_attr(k, v.clone());
        }
        o
    }

    #[tokio::test]
    async fn create_marks_computed_unknown_and_applies_defaults() {
        let config = obj(&[("name", "a".into())]);
        let out = plan_resource_change(&thing(), None, &Value::Null, &config, &config).await;
        assert!(out.planned.get("id").is_unknown());
        assert!(out.planned.get("etag").is_unknown());
        assert_eq!(out.planned.get("force"), &Value::Bool(false));
        assert_eq!(out.planned.get("name"), &Value::string("a"));
        assert!(out.requires_replace.is_empty());
    }

    #[tokio::test]
    async fn noop_update_keeps_prior_values() {
        let prior = obj(&[
            ("id", "i-1".into()),
            ("name", "a".into()),
            ("etag", "e1".into()),
            ("force", Value::Bool(false)),
        ]);
        let config = obj(&[("name", "a".into())]);
        // Terraform's proposed new state: config merged with prior computed values.
        let proposed = prior.clone();
        let out = plan_resource_change(&thing(), None, &prior, &proposed, &config).await;
        assert_eq!(out.planned, prior);
        assert!(out.requires_replace.is_empty());
    }

    #[tokio::test]
    async fn changed_update_marks_unknown_except_use_state() {
        let prior = obj(&[
            ("id", "i-1".into()),
            ("name", "a".into()),
            ("etag", "e1".into()),
            ("force", Value::Bool(false)),
        ]);
        let config = obj(&[
            ("name", "a".into()),
            ("tags", Value::string_map([("k", "v")])),
        ]);
        let mut proposed = prior.clone();
        proposed.set_attr("tags", Value::string_map([("k", "v")]));
        let out = plan_resource_change(&thing(), None, &prior, &proposed, &config).await;
        assert_eq!(out.planned.get("id"), &Value::string("i-1"));
        assert!(out.planned.get("etag").is_unknown());
        assert!(out.requires_replace.is_empty());
    }

    #[tokio::test]
    async fn replace_when_picks_only_the_changes_it_names() {
        let with_force = |on: bool| {
            obj(&[
                ("id", "i-1".into()),
                ("name", "a".into()),
                ("etag", "e1".into()),
                ("force", Value::Bool(on)),
            ])
        };
        let config = |on: bool| obj(&[("name", "a".into()), ("force", Value::Bool(on))]);
        // Off → on: in place.
        let out = plan_resource_change(
            &thing(),
            None,
            &with_force(false),
            &with_force(true),
            &config(true),
        )
        .await;
        assert!(out.requires_replace.is_empty());
        // On → off: replaced, at the attribute's path.
        let out = plan_resource_change(
            &thing(),
            None,
            &with_force(true),
            &with_force(false),
            &config(false),
        )
        .await;
        assert_eq!(out.requires_replace, vec![AttrPath::root("force")]);
        // Unchanged: nothing, even where the rule would pick the values.
        let out = plan_resource_change(
            &thing(),
            None,
            &with_force(true),
            &with_force(true),
            &config(true),
        )
        .await;
        assert!(out.requires_replace.is_empty());
    }

    #[tokio::test]
    async fn rename_requires_replace_and_nested_computed_is_marked() {
        let prior = obj(&[
            ("id", "i-1".into()),
            ("name", "a".into()),
            ("force", Value::Bool(false)),
        ]);
        let lock = Value::object([("mode", Value::Null), ("days", Value::number(3))]);
        let config = obj(&[("name", "b".into()), ("lock", lock.clone())]);
        let mut proposed = prior.clone();
        proposed.set_attr("name", "b".into());
        proposed.set_attr("lock", lock);
        let out = plan_resource_change(&thing(), None, &prior, &proposed, &config).await;
        assert_eq!(out.requires_replace, vec![AttrPath::root("name")]);
        assert!(out.planned.get("lock").get("mode").is_unknown());
        assert_eq!(out.planned.get("lock").get("days"), &Value::number(3));
    }

    #[tokio::test]
    async fn destroy_plans_null() {
        let prior = obj(&[("name", "a".into())]);
        let out = plan_resource_change(&thing(), None, &prior, &Value::Null, &Value::Null).await;
        assert!(out.planned.is_null());
    }

    #[test]
    fn results_conform_to_known_planned_values_only() {
        let planned = Value::object([
            ("id", Value::unknown()),
            (
                "tags",
                Value::Map([("a".to_string(), Value::unknown())].into()),
            ),
            ("on", Value::Bool(true)),
        ]);
        let ok = Value::object([
            ("id", Value::string("x")),
            ("tags", Value::string_map([("a", "1")])),
            ("on", Value::Bool(true)),
        ]);
        assert!(conforms(&planned, &ok));
        let flipped = Value::object([
            ("id", Value::string("x")),
            ("tags", Value::string_map([("a", "1")])),
            ("on", Value::Bool(false)),
        ]);
        assert!(!conforms(&planned, &flipped));
        let key_vanished = Value::object([
            ("id", Value::string("x")),
            ("tags", Value::string_map(Vec::<(&str, &str)>::new())),
            ("on", Value::Bool(true)),
        ]);
        assert!(!conforms(&planned, &key_vanished));
    }

    #[test]
    fn schema_passes_terraform_rules() {
        assert!(thing().0.block.check("thing").is_empty());
    }
}
