//! Conversions between protobuf messages and the framework's types: schemas,
//! diagnostics, attribute paths and dynamic values. The only place besides
//! `mod.rs` that names `pb` types.

use crate::framework::schema::{Attribute, AttributeKind, Block, Nesting, Schema};
use crate::framework::{Diagnostics, Severity};
use crate::pb::tfplugin6 as pb;
use crate::value::{json, msgpack, AttrPath, CodecError, PathStep, Type, Value};

/// Decodes a DynamicValue against a type: msgpack when present, else JSON,
/// else null (Terraform's own rule).
pub(crate) fn decode_value(dv: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, CodecError> {
    match dv {
        Some(d) if !d.msgpack.is_empty() => msgpack::decode(&d.msgpack, ty),
        Some(d) if !d.json.is_empty() => json::decode(&d.json, ty),
        _ => Ok(Value::Null),
    }
}

/// Encodes a value as msgpack (the encoding every Terraform 1.x reads).
pub(crate) fn encode_value(v: &Value, ty: &Type) -> Result<pb::DynamicValue, CodecError> {
    Ok(pb::DynamicValue {
        msgpack: msgpack::encode(v, ty)?,
        json: Vec::new(),
    })
}

/// Diagnostics to their protobuf form.
pub(crate) fn diagnostics(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_vec()
        .into_iter()
        .map(|d| pb::Diagnostic {
            severity: match d.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary,
            detail: d.detail,
            attribute: d.path.as_ref().map(attribute_path),
        })
        .collect()
}

/// An attribute path to its protobuf form.
pub(crate) fn attribute_path(p: &AttrPath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .steps()
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(n) => Selector::AttributeName(n.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// A provider function's signature to its protobuf form.
pub(crate) fn function(f: &dyn crate::framework::function::Function) -> pb::Function {
    pb::Function {
        parameters: f
            .parameters()
            .into_iter()
            .map(|p| pb::function::Parameter {
                name: p.name.to_string(),
                r#type: p.ty.to_json_bytes(),
                allow_null_value: false,
                allow_unknown_values: false,
                description: p.description.to_string(),
                description_kind: pb::StringKind::Markdown as i32,
            })
            .collect(),
        variadic_parameter: None,
        r#return: Some(pb::function::Return {
            r#type: f.return_type().to_json_bytes(),
        }),
        summary: f.summary().to_string(),
        description: f.description().to_string(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecation_message: String::new(),
    }
}

/// A schema to its protobuf form.
pub(crate) fn schema(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block(&s.block)),
    }
}

fn block(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.type_name.to_string(),
                block: Some(block(&nb.block)),
                nesting: match nb.nesting {
                    Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                    Nesting::List => pb::schema::nested_block::NestingMode::List,
                    Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                    Nesting::Map => pb::schema::nested_block::NestingMode::Map,
                    Nesting::Group => pb::schema::nested_block::NestingMode::Group,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        deprecation_message: String::new(),
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    let (ty, nested) = match &a.kind {
        AttributeKind::Type(t) => (t.to_json_bytes(), None),
        AttributeKind::Nested {
            nesting,
            attributes,
        } => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attributes.iter().map(attribute).collect(),
                nesting: match nesting {
                    // Group is a block-only nesting; attributes never use it.
                    Nesting::Single | Nesting::Group => pb::schema::object::NestingMode::Single,
                    Nesting::List => pb::schema::object::NestingMode::List,
                    Nesting::Set => pb::schema::object::NestingMode::Set,
                    Nesting::Map => pb::schema::object::NestingMode::Map,
                } as i32,
                #[allow(deprecated)]
                min_items: 0,
                #[allow(deprecated)]
                max_items: 0,
            }),
        ),
    };
    let mut description = a.description.to_string();
    for m in &a.modifiers {
        if *m == crate::framework::PlanModifier::RequiresReplace {
            description.push(' ');
            description.push_str(m.description());
        }
    }
    pb::schema::Attribute {
        name: a.name.to_string(),
        r#type: ty,
        nested_type: nested,
        description,
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: false,
        deprecation_message: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_convert_step_by_step() {
        use pb::attribute_path::step::Selector;
        let p = AttrPath::root("lifecycle_rules").index(2).attr("id");
        let steps: Vec<_> = attribute_path(&p)
            .steps
            .into_iter()
            .map(|s| s.selector.unwrap())
            .collect();
        assert_eq!(
            steps,
            vec![
                Selector::AttributeName("lifecycle_rules".into()),
                Selector::ElementKeyInt(2),
                Selector::AttributeName("id".into())
            ]
        );
    }

    #[test]
    fn empty_dynamic_value_is_null() {
        assert_eq!(decode_value(None, &Type::String).unwrap(), Value::Null);
        let dv = pb::DynamicValue::default();
        assert_eq!(decode_value(Some(&dv), &Type::String).unwrap(), Value::Null);
    }
}
