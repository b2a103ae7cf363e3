//! Declarative schemas: attributes (plain or nested, protocol 6), nested
//! blocks, and the plan modifiers and validators attached to them. A schema is
//! data; [`super::plan`] interprets the modifiers, `tfplugin6/` turns the
//! schema into its protobuf form.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::validators::Validator;
use crate::value::{Type, Value};

/// A resource, data source or provider schema.
#[derive(Clone, Debug)]
pub struct Schema {
    /// State schema version; drives UpgradeResourceState.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A block: attributes and nested blocks.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Markdown description.
    pub description: String,
    /// Attributes, in declaration order.
    pub attributes: Vec<Attribute>,
    /// Nested blocks (used for the provider configuration, as the AWS provider does).
    pub blocks: Vec<NestedBlock>,
}

/// How a nested attribute or nested block repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// One object (or null).
    Single,
    /// An ordered list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
    /// Blocks only: one object that is never null; an absent block is an
    /// object of nulls, so the provider can plan values for its computed
    /// attributes (e.g. defaults chosen by another argument).
    Group,
}

/// What an attribute holds.
#[derive(Clone, Debug)]
pub enum AttributeKind {
    /// A value of a plain type.
    Type(Type),
    /// Nested attributes (protocol 6 `nested_type`).
    Nested {
        /// How the object repeats.
        nesting: Nesting,
        /// The object's attributes.
        attributes: Vec<Attribute>,
    },
}

/// A change rule attached to an attribute, applied by the planner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanModifier {
    /// A change of this attribute replaces the resource.
    RequiresReplace,
    /// When computed and unknown, keep the prior state's value: it never changes after create.
    UseStateForUnknown,
}

impl PlanModifier {
    /// Description used in generated documentation.
    pub fn description(self) -> &'static str {
        match self {
            PlanModifier::RequiresReplace => {
                "If the value of this attribute changes, Terraform will destroy and recreate the resource."
            }
            PlanModifier::UseStateForUnknown => {
                "Once set, the value of this attribute in state will not change."
            }
        }
    }
}

/// Whether a change from the prior value (first) to the planned one (second) replaces
/// the resource. Both are known.
pub type ReplaceWhen = fn(&Value, &Value) -> bool;

/// One attribute.
#[derive(Clone, Debug)]
pub struct Attribute {
    /// Name, `^[a-z_][a-z0-9_]*$`.
    pub name: &'static str,
    /// Type or nested attributes.
    pub kind: AttributeKind,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// Set by the provider (when not configured, for optional+computed).
    pub computed: bool,
    /// Hidden in plan output and never logged.
    pub sensitive: bool,
    /// Markdown description.
    pub description: &'static str,
    /// Value planned when the configuration leaves the attribute null.
    pub default: Option<Value>,
    /// Plan modifiers.
    pub modifiers: Vec<PlanModifier>,
    /// Replacement for some changes only: (prior, planned) → whether this change
    /// replaces the resource, and the sentence the reference page shows.
    pub replace_when: Option<(ReplaceWhen, &'static str)>,
    /// Validators, run on known, non-null configuration values.
    pub validators: Vec<Arc<dyn Validator>>,
}

impl std::fmt::Debug for dyn Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description())
    }
}

impl Attribute {
    fn with_kind(name: &'static str, kind: AttributeKind) -> Self {
        Attribute {
            name,
            kind,
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            description: "",
            default: None,
            modifiers: Vec::new(),
            replace_when: None,
            validators: Vec::new(),
        }
    }
    /// A string attribute.
    pub fn string(name: &'static str) -> Self {
        Self::with_kind(name, AttributeKind::Type(Type::String))
    }
    /// A number attribute.
    pub fn number(name: &'static str) -> Self {
        Self::with_kind(name, AttributeKind::Type(Type::Number))
    }
    /// A bool attribute.
    pub fn bool(name: &'static str) -> Self {
        Self::with_kind(name, AttributeKind::Type(Type::Bool))
    }
    /// An attribute of any type.
    pub fn typed(name: &'static str, ty: Type) -> Self {
        Self::with_kind(name, AttributeKind::Type(ty))
    }
    /// Nested attributes.
    pub fn nested(name: &'static str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        Self::with_kind(
            name,
            AttributeKind::Nested {
                nesting,
                attributes,
            },
        )
    }
    /// Marks the attribute required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Marks the attribute optional.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    /// Marks the attribute computed.
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    /// Marks the attribute sensitive.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Sets the description.
    pub fn describe(mut self, d: &'static str) -> Self {
        self.description = d;
        self
    }
    /// Sets the default (implies optional + computed).
    pub fn default(mut self, v: Value) -> Self {
        self.default = Some(v);
        self.optional = true;
        self.computed = true;
        self
    }
    /// Changes force replacement.
    pub fn requires_replace(mut self) -> Self {
        self.modifiers.push(PlanModifier::RequiresReplace);
        self
    }
    /// Only the changes `when` picks force replacement (as the plugin framework's
    /// `RequiresReplaceIf`); e.g. a setting AWS can turn on in place but never off.
    /// `doc` completes the reference page's note.
    pub fn requires_replace_when(mut self, when: ReplaceWhen, doc: &'static str) -> Self {
        self.replace_when = Some((when, doc));
        self
    }
    /// Keeps the prior value instead of planning unknown.
    pub fn use_state_for_unknown(mut self) -> Self {
        self.modifiers.push(PlanModifier::UseStateForUnknown);
        self
    }
    /// Adds a validator.
    pub fn validate(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }
    /// Whether a modifier is attached.
    pub fn has(&self, m: PlanModifier) -> bool {
        self.modifiers.contains(&m)
    }

    /// The value type this attribute holds.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Type(t) => t.clone(),
            AttributeKind::Nested {
                nesting,
                attributes,
            } => {
                let obj = object_type(attributes);
                match nesting {
                    Nesting::Single => obj,
                    Nesting::List => Type::List(Box::new(obj)),
                    Nesting::Set => Type::Set(Box::new(obj)),
                    Nesting::Map => Type::Map(Box::new(obj)),
                    Nesting::Group => obj,
                }
            }
        }
    }
}

/// A nested block (configuration syntax `name { ... }`).
#[derive(Clone, Debug)]
pub struct NestedBlock {
    /// Block type name.
    pub type_name: &'static str,
    /// Contents.
    pub block: Block,
    /// Only `Single` and `List` are used by this provider.
    pub nesting: Nesting,
    /// Minimum count (0 = none).
    pub min_items: i64,
    /// Maximum count (0 = unlimited; 1 for Single).
    pub max_items: i64,
}

impl NestedBlock {
    /// An optional single block (null when absent).
    pub fn single(type_name: &'static str, block: Block) -> Self {
        NestedBlock {
            type_name,
            block,
            nesting: Nesting::Single,
            min_items: 0,
            max_items: 0,
        }
    }

    /// A group block: never null, so its computed attributes can be planned
    /// even when the block is absent from the configuration.
    pub fn group(type_name: &'static str, block: Block) -> Self {
        NestedBlock {
            type_name,
            block,
            nesting: Nesting::Group,
            min_items: 0,
            max_items: 0,
        }
    }
}

fn object_type(attributes: &[Attribute]) -> Type {
    Type::Object(
        attributes
            .iter()
            .map(|a| (a.name.to_string(), a.value_type()))
            .collect::<BTreeMap<_, _>>(),
    )
}

impl Block {
    /// The object type configuration and state of this block have.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.to_string(), a.value_type()))
            .collect();
        for b in &self.blocks {
            let inner = b.block.implied_type();
            let t = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::List(Box::new(inner)),
                Nesting::Set => Type::Set(Box::new(inner)),
                Nesting::Map => Type::Map(Box::new(inner)),
            };
            attrs.insert(b.type_name.to_string(), t);
        }
        Type::Object(attrs)
    }

    /// Finds an attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Checks the rules Terraform applies to provider schemas, so a mistake is
    /// caught by a unit test instead of by Terraform refusing the provider.
    pub fn check(&self, at: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        };
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.attributes {
            check_attribute(a, at, &name_ok, &mut problems);
            if !seen.insert(a.name) {
                problems.push(format!("{at}.{}: duplicate name", a.name));
            }
        }
        for b in &self.blocks {
            if !name_ok(b.type_name) || !seen.insert(b.type_name) {
                problems.push(format!("{at}.{}: bad or duplicate block name", b.type_name));
            }
            problems.extend(b.block.check(&format!("{at}.{}", b.type_name)));
        }
        problems
    }
}

fn check_attribute(
    a: &Attribute,
    at: &str,
    name_ok: &dyn Fn(&str) -> bool,
    problems: &mut Vec<String>,
) {
    let here = format!("{at}.{}", a.name);
    if !name_ok(a.name) {
        problems.push(format!("{here}: invalid attribute name"));
    }
    if !(a.required || a.optional || a.computed) {
        problems.push(format!(
            "{here}: one of required, optional, computed must be set"
        ));
    }
    if a.required && (a.optional || a.computed) {
        problems.push(format!(
            "{here}: required cannot be combined with optional or computed"
        ));
    }
    if a.default.is_some() && !(a.optional && a.computed) {
        problems.push(format!("{here}: a default needs optional + computed"));
    }
    if let AttributeKind::Nested { attributes, .. } = &a.kind {
        for inner in attributes {
            check_attribute(inner, &here, name_ok, problems);
        }
    }
}
