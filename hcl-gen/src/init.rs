//! The starter spec `init` writes: the seed's seven accounts (management, security, log
//! archive, shared services, development, testing, production), eu-west-1 and
//! eu-central-1, and dev/test/prod with backup & restore, pilot light and warm standby.
//!
//! The spec is built as an `hcl::Body` from [`SpecParams`], so tests and the benchmark
//! make other specs (more workload accounts, other regions) the same way.

use hcl::{Block, Body, Expression};

use crate::render::{align, obj, s};

/// One workload environment of a generated spec.
#[derive(Clone, Debug)]
pub struct EnvParams {
    /// Environment name, e.g. `dev`.
    pub name: String,
    /// Its account's name, e.g. `development`.
    pub account: String,
    /// Its account's id.
    pub account_id: Option<String>,
    /// DR strategy.
    pub dr_strategy: String,
    /// Primary region, when not the spec's.
    pub region: Option<String>,
    /// Secondary region, when not the spec's.
    pub secondary_region: Option<String>,
    /// Explicit CIDR, instead of one from the supernet.
    pub cidr: Option<String>,
}

/// The knobs of a generated spec.
#[derive(Clone, Debug)]
pub struct SpecParams {
    /// Organization name.
    pub organization: String,
    /// Primary region.
    pub primary: String,
    /// Secondary region.
    pub secondary: Option<String>,
    /// Workload environments, in declaration order.
    pub environments: Vec<EnvParams>,
    /// Whether ids are written for the four shared accounts.
    pub with_ids: bool,
    /// `network { prefix, az_count }`: the size of each allocated VPC and its zones.
    pub prefix: u8,
    /// Availability zones per VPC.
    pub az_count: u32,
}

impl SpecParams {
    /// The seed's seven-account platform.
    pub fn example() -> Self {
        let env = |name: &str, account: &str, id: &str, dr: &str| EnvParams {
            name: name.into(),
            account: account.into(),
            account_id: Some(id.into()),
            dr_strategy: dr.into(),
            region: None,
            secondary_region: None,
            cidr: None,
        };
        SpecParams {
            organization: "acme-bank".into(),
            primary: "eu-west-1".into(),
            secondary: Some("eu-central-1".into()),
            environments: vec![
                env("dev", "development", "210000000005", "backup_restore"),
                env("test", "testing", "210000000006", "pilot_light"),
                env("prod", "production", "210000000007", "warm_standby"),
            ],
            with_ids: true,
            prefix: 16,
            az_count: 3,
        }
    }
}

/// The four shared accounts: name, role, id.
const SHARED: [(&str, &str, &str); 4] = [
    ("management", "management", "210000000001"),
    ("security", "security", "210000000002"),
    ("log-archive", "log_archive", "210000000003"),
    ("shared-services", "shared_services", "210000000004"),
];

/// The spec for `p` as an HCL body.
pub fn spec_body(p: &SpecParams) -> Body {
    let org = &p.organization;
    let mut body = Body::builder()
        .add_block(
            Block::builder("organization")
                .add_attribute(("name", s(org.clone())))
                .add_attribute((
                    "tags",
                    obj([
                        ("cost_center", s("platform")),
                        ("owner", s("cloud-platform-team")),
                    ]),
                ))
                .build(),
        )
        .add_block({
            let mut b = Block::builder("regions").add_attribute(("primary", s(p.primary.clone())));
            if let Some(sec) = &p.secondary {
                b = b.add_attribute(("secondary", s(sec.clone())));
            }
            b.build()
        })
        .add_attribute(("assume_role_name", s("OrganizationAccountAccessRole")))
        .add_block(
            Block::builder("state_backend")
                .add_attribute(("bucket_prefix", s(format!("{org}-tfstate"))))
                .add_attribute(("region", s(p.primary.clone())))
                .add_attribute(("lock", Expression::Bool(true)))
                .build(),
        )
        .add_block(
            Block::builder("provider")
                .add_attribute(("source", s(crate::spec::DEFAULT_PROVIDER_SOURCE)))
                .add_attribute(("version", s(crate::spec::DEFAULT_PROVIDER_VERSION)))
                .build(),
        )
        .add_block(
            Block::builder("network")
                .add_attribute(("supernet", s("10.0.0.0/8")))
                .add_attribute(("prefix", Expression::from(u64::from(p.prefix))))
                .add_attribute(("az_count", Expression::from(u64::from(p.az_count))))
                .add_attribute(("flow_logs_retention_days", Expression::from(365)))
                .build(),
        )
        .add_attribute(("tags", obj([("compliance", s("pci-dss"))])))
        .add_block(
            Block::builder("features")
                .add_attribute(("log_archive", Expression::Bool(true)))
                .add_attribute(("central_flow_logs", Expression::Bool(true)))
                .add_attribute(("gateway_endpoints", Expression::Bool(true)))
                .add_attribute(("replicate_storage", Expression::Bool(true)))
                .build(),
        )
        .add_block(
            Block::builder("pipelines")
                .add_attribute(("repository", s(format!("{org}/platform"))))
                .add_attribute(("terraform_version", s("1.15.5")))
                .build(),
        );
    for (name, role, id) in SHARED {
        let mut b = Block::builder("account")
            .add_label(name)
            .add_attribute(("role", s(role)))
            .add_attribute(("email", s(format!("aws+{name}@{org}.example"))));
        if p.with_ids {
            b = b.add_attribute(("id", s(id)));
        }
        body = body.add_block(b.build());
    }
    for e in &p.environments {
        let mut b = Block::builder("account")
            .add_label(e.account.clone())
            .add_attribute(("role", s("workload")))
            .add_attribute(("email", s(format!("aws+{}@{org}.example", e.account))));
        if let Some(id) = &e.account_id {
            b = b.add_attribute(("id", s(id.clone())));
        }
        body = body.add_block(b.build());
    }
    for e in &p.environments {
        let mut b = Block::builder("environment")
            .add_label(e.name.clone())
            .add_attribute(("account", s(e.account.clone())))
            .add_attribute(("dr_strategy", s(e.dr_strategy.clone())));
        if let Some(r) = &e.region {
            b = b.add_attribute(("region", s(r.clone())));
        }
        if let Some(r) = &e.secondary_region {
            b = b.add_attribute(("secondary_region", s(r.clone())));
        }
        if let Some(c) = &e.cidr {
            b = b.add_block(
                Block::builder("network")
                    .add_attribute(("cidr", s(c.clone())))
                    .build(),
            );
        }
        body = body.add_block(b.build());
    }
    body.build()
}

/// The spec for `p` as text, with a comment on top explaining the format.
pub fn spec_text(p: &SpecParams) -> String {
    let mut formatter = hcl::format::Formatter::builder()
        .compact_arrays(true)
        .build_vec();
    hcl::format::Format::format(&spec_body(p), &mut formatter).expect("formatting into memory");
    let text = String::from_utf8(formatter.into_inner()).expect("hcl-rs writes UTF-8");
    format!(
        "# Platform spec for bankplatform-gen: edit it, then run\n\
         #   bankplatform-gen generate --spec <this file> --out <dir>\n\
         # Accounts: exactly one each of role management, security, log_archive and\n\
         # shared_services, and one workload account per environment. Each environment's\n\
         # dr_strategy (backup_restore, pilot_light, warm_standby, multi_region) decides what\n\
         # runs in the secondary region. Network CIDRs come from the supernet unless an\n\
         # environment sets network {{ cidr = \"...\" }}. pipelines.repository is the GitHub\n\
         # repository whose workflows may assume the deploy roles the bootstrap root makes in\n\
         # every account: set it to yours. See hcl-gen/README.md for every key.\n\n{}",
        align(&text)
    )
}
