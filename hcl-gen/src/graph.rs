//! `graph`: accounts, regions, networks and stack dependencies as a picture, in Mermaid
//! (renders on GitHub) or Graphviz DOT (`dot -Tsvg`).
//!
//! Accounts are boxes (subgraphs / clusters) holding their roots; a root's label names its
//! region and stack, with the CIDR for networks; an arrow goes from a root to each root
//! that must be applied before it.

use std::fmt::Write as _;

use crate::layout::{Layout, Stack, Unit};

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Mermaid `flowchart`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

fn node_id(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn label(layout: &Layout, u: &Unit) -> String {
    match &u.stack {
        Stack::Network {
            environment,
            secondary,
            cidr,
            nat_gateway_strategy,
            az_count,
        } => format!(
            "{} network {environment}{}<br/>{cidr}, {az_count} AZ, NAT {nat_gateway_strategy}",
            u.region,
            if *secondary { " (DR)" } else { "" }
        ),
        Stack::Storage {
            environment,
            replica_region,
        } => format!(
            "{} storage {environment}{}",
            u.region,
            replica_region
                .as_ref()
                .map(|r| format!("<br/>replica in {r}"))
                .unwrap_or_default()
        ),
        Stack::Bootstrap => format!("{} bootstrap<br/>{}", u.region, layout.spec.state_bucket),
        Stack::LogArchive => format!(
            "{} log archive<br/>audit, config, findings, archive, flow logs",
            u.region
        ),
        Stack::Audit => format!("{} organization trail<br/>CIS alarms", u.region),
        Stack::Security => format!("{} security<br/>Config aggregator", u.region),
        Stack::Organization => format!("{} organization<br/>OUs, guardrails, delegation", u.region),
        Stack::Baseline { account_wide } => format!(
            "{} baseline{}",
            u.region,
            if *account_wide {
                "<br/>account-wide"
            } else {
                ""
            }
        ),
    }
}

/// The graph of `layout` in `format`.
pub fn render(layout: &Layout, format: Format) -> String {
    let mut out = String::new();
    let spec = &layout.spec;
    match format {
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            let by_account = layout.by_account();
            for acct in spec.accounts.values() {
                let units: &[&Unit] = by_account
                    .get(acct.name.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  subgraph {}[\"{} ({}{})\"]",
                    node_id(&format!("acct_{}", acct.name)),
                    acct.name,
                    acct.role.as_str(),
                    acct.id
                        .as_ref()
                        .map(|i| format!(" {i}"))
                        .unwrap_or_default()
                );
                for u in units {
                    let _ = writeln!(out, "    {}[\"{}\"]", node_id(&u.id), label(layout, u));
                }
                out.push_str("  end\n");
            }
            for u in &layout.units {
                for d in &u.depends_on {
                    let _ = writeln!(out, "  {} --> {}", node_id(d), node_id(&u.id));
                }
            }
        }
        Format::Dot => {
            out.push_str(
                "digraph platform {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
            );
            let by_account = layout.by_account();
            for acct in spec.accounts.values() {
                let _ = writeln!(
                    out,
                    "  subgraph \"cluster_{}\" {{\n    label=\"{} ({})\";",
                    acct.name,
                    acct.name,
                    acct.role.as_str()
                );
                for u in by_account.get(acct.name.as_str()).into_iter().flatten() {
                    let _ = writeln!(
                        out,
                        "    \"{}\" [label=\"{}\"];",
                        u.id,
                        label(layout, u).replace("<br/>", "\\n")
                    );
                }
                out.push_str("  }\n");
            }
            for u in &layout.units {
                for d in &u.depends_on {
                    let _ = writeln!(out, "  \"{d}\" -> \"{}\";", u.id);
                }
            }
            out.push_str("}\n");
        }
    }
    out
}
