//! Generates a resource's reference page (`docs/resources/<name>.md`) from
//! its schema, as terraform-plugin-docs does: the same descriptions that
//! Terraform shows are the documentation, so the two cannot drift apart.

use std::fmt::Write;

use super::resource::Resource;
use super::schema::{Attribute, AttributeKind, Block, Nesting};

/// The page for one resource; `example` is the HCL shown as Example Usage.
pub fn resource_page<C: Send + Sync + 'static>(r: &dyn Resource<Ctx = C>, example: &str) -> String {
    let schema = r.schema();
    let mut out = String::new();
    let _ = writeln!(out, "# {} (Resource)\n", r.type_name());
    let _ = writeln!(out, "{}\n", schema.block.description);
    let _ = writeln!(
        out,
        "## Example Usage\n\n```terraform\n{}\n```\n",
        example.trim_end()
    );
    let _ = writeln!(out, "## Argument Reference\n");
    arguments(&mut out, &schema.block, "");
    let _ = writeln!(out, "\n## Attribute Reference\n");
    for a in schema
        .block
        .attributes
        .iter()
        .filter(|a| a.computed && !a.optional)
    {
        let _ = writeln!(out, "- `{}` ({}) {}", a.name, type_name(a), a.description);
    }
    if let Some(table) = r.controls_doc() {
        let _ = writeln!(
            out,
            "\n## Controls\n\nRead back from AWS on every refresh into `compliance` (control id → whether it holds).\n\n{}",
            table.trim_end()
        );
    }
    if let Some(notes) = r.audit_notes() {
        let _ = writeln!(
            out,
            "\n## What an auditor's scanner still reports\n\nProwler over the example on the emulator (`scripts/audit.sh`, `docs/audit.md`), and why each finding stays:\n\n{}",
            notes.trim_end()
        );
    }
    if let Some(help) = r.import_help() {
        let _ = writeln!(
            out,
            "\n## Import\n\n{help}\n\n```shell\nterraform import {}.example <id>\n```",
            r.type_name()
        );
    }
    out
}

fn arguments(out: &mut String, block: &Block, indent: &str) {
    for a in block.attributes.iter().filter(|a| a.required || a.optional) {
        let kind = if a.required { "Required" } else { "Optional" };
        let mut notes = Vec::new();
        if let Some(d) = &a.default {
            notes.push(format!(
                "Default: `{}`.",
                crate::value::json::encode(d, &a.value_type())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            ));
        }
        if a.sensitive {
            notes.push("Sensitive.".into());
        }
        if a.has(super::schema::PlanModifier::RequiresReplace) {
            notes.push("Changing it replaces the resource.".into());
        }
        if let Some((_, doc)) = a.replace_when {
            notes.push(doc.into());
        }
        for v in &a.validators {
            notes.push(format!("Value {}.", v.description()));
        }
        let _ = writeln!(
            out,
            "{indent}- `{}` ({kind}, {}) {}{}{}",
            a.name,
            type_name(a),
            a.description,
            if notes.is_empty() { "" } else { " " },
            notes.join(" ")
        );
    }
    for b in &block.blocks {
        let how = match b.nesting {
            Nesting::Single | Nesting::Group => "block, at most one",
            _ => "block",
        };
        let _ = writeln!(
            out,
            "{indent}- `{}` ({how}) {}",
            b.type_name, b.block.description
        );
        arguments(out, &b.block, &format!("{indent}  "));
        for a in b
            .block
            .attributes
            .iter()
            .filter(|a| a.computed && !a.optional)
        {
            let _ = writeln!(
                out,
                "{indent}  - `{}` (Read-only, {}) {}",
                a.name,
                type_name(a),
                a.description
            );
        }
    }
}

fn type_name(a: &Attribute) -> String {
    match &a.kind {
        AttributeKind::Type(t) => t.to_string(),
        AttributeKind::Nested { nesting, .. } => format!("{nesting:?} of objects").to_lowercase(),
    }
}

/// The page for one provider function.
pub fn function_page(f: &dyn super::function::Function) -> String {
    let mut out = String::new();
    let params: Vec<&str> = f.parameters().iter().map(|p| p.name).collect::<Vec<_>>();
    let _ = writeln!(out, "# {} (Function)\n", f.name());
    let _ = writeln!(out, "{}\n", f.summary());
    let _ = writeln!(out, "{}\n", f.description());
    let _ = writeln!(
        out,
        "Requires Terraform 1.8 or later.\n\n## Signature\n\n```text\nprovider::bankplatform::{}({}) {}\n```\n\n## Arguments\n",
        f.name(),
        params.join(", "),
        f.return_type()
    );
    for p in f.parameters() {
        let _ = writeln!(out, "- `{}` ({}) {}", p.name, p.ty, p.description);
    }
    out
}
