//! The platform spec: one HCL file read with hcl-rs into serde types, then checked.
//!
//! Reading happens in three steps, so every error carries a file, line and column:
//! 1. `hcl::edit::parser::parse_body` parses the text, keeping byte spans (syntax errors
//!    come with their location from the parser);
//! 2. a walk over that tree checks it against a small schema table ([`TOP`]): known keys
//!    (with "did you mean" for unknown ones), attributes versus blocks, literal types,
//!    allowed enum values, required keys, duplicate blocks and labels; it records the span
//!    of every block and attribute by a path such as `environment.prod.dr_strategy`;
//! 3. `hcl::from_body` turns the tree into the serde types below (`deny_unknown_fields`),
//!    and [`validate`] resolves defaults, allocates network CIDRs and runs the semantic
//!    checks (standard roles, account references, DR regions, overlapping CIDRs).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use hcl::edit::expr::{Expression as EExpr, ObjectKey as EKey};
use hcl::edit::structure::{Body as EBody, Structure as EStructure};
use hcl::edit::Span;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::diag::{did_you_mean, Source, SpecError, SpecErrors};

/// The four account roles the platform needs exactly one account for.
pub const SINGLETON_ROLES: &[&str] = &["management", "security", "log_archive", "shared_services"];
/// Every account role.
pub const ROLES: &[&str] = &[
    "management",
    "security",
    "log_archive",
    "shared_services",
    "workload",
];
/// Disaster-recovery strategies, from cheapest to most available.
pub const DR_STRATEGIES: &[&str] = &[
    "backup_restore",
    "pilot_light",
    "warm_standby",
    "multi_region",
];
/// NAT gateway layouts `bankplatform_hardened_vpc` accepts.
pub const NAT_STRATEGIES: &[&str] = &["one_per_az", "single", "none"];
/// The provider's registry address.
pub const DEFAULT_PROVIDER_SOURCE: &str = "registry.terraform.io/bankplatform/bankplatform";
/// The provider version constraint written when the spec names none.
pub const DEFAULT_PROVIDER_VERSION: &str = "~> 0.1";
/// The role assumed in every account when the spec names none.
pub const DEFAULT_ASSUME_ROLE: &str = "OrganizationAccountAccessRole";

// ---------------------------------------------------------------------------------------
// Schema table for the located walk.

/// What a key holds.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A string literal.
    Str,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A whole number literal.
    Int,
    /// `true` or `false`.
    Bool,
    /// An object of string values, such as tags.
    StrMap,
    /// A list of string literals.
    StrList,
    /// One unlabeled block.
    Block(&'static Schema),
    /// Any number of blocks with one label each.
    Labeled(&'static Schema),
}

/// The keys of one block: name, kind and whether it is required.
#[derive(Debug)]
struct Schema {
    fields: &'static [(&'static str, Kind, bool)],
}

const ORG: Schema = Schema {
    fields: &[("name", Kind::Str, true), ("tags", Kind::StrMap, false)],
};
const ACCOUNT: Schema = Schema {
    fields: &[
        ("role", Kind::Enum(ROLES), true),
        ("email", Kind::Str, true),
        ("id", Kind::Str, false),
        ("environment", Kind::Str, false),
        ("tags", Kind::StrMap, false),
    ],
};
const REGIONS: Schema = Schema {
    fields: &[
        ("primary", Kind::Str, true),
        ("secondary", Kind::Str, false),
    ],
};
const ENV_NETWORK: Schema = Schema {
    fields: &[
        ("cidr", Kind::Str, false),
        ("secondary_cidr", Kind::Str, false),
        ("az_count", Kind::Int, false),
        ("nat_gateway_strategy", Kind::Enum(NAT_STRATEGIES), false),
    ],
};
const ENVIRONMENT: Schema = Schema {
    fields: &[
        ("account", Kind::Str, true),
        ("dr_strategy", Kind::Enum(DR_STRATEGIES), true),
        ("region", Kind::Str, false),
        ("secondary_region", Kind::Str, false),
        ("network", Kind::Block(&ENV_NETWORK), false),
        ("tags", Kind::StrMap, false),
    ],
};
const NETWORK: Schema = Schema {
    fields: &[
        ("supernet", Kind::Str, false),
        ("prefix", Kind::Int, false),
        ("az_count", Kind::Int, false),
        ("flow_logs_retention_days", Kind::Int, false),
    ],
};
const STATE_BACKEND: Schema = Schema {
    fields: &[
        ("bucket_prefix", Kind::Str, true),
        ("region", Kind::Str, false),
        ("lock", Kind::Bool, false),
        ("lock_with", Kind::Enum(LOCK_KINDS), false),
    ],
};
/// How state is locked: S3 lock files (Terraform 1.10 and later) or a DynamoDB table.
const LOCK_KINDS: &[&str] = &["lockfile", "dynamodb"];
const PIPELINES: Schema = Schema {
    fields: &[
        ("github_actions", Kind::Bool, false),
        ("gitlab_ci", Kind::Bool, false),
        ("atlantis", Kind::Bool, false),
        ("terramate", Kind::Bool, false),
        ("makefile", Kind::Bool, false),
        ("deploy_role_name", Kind::Str, false),
        ("protected_environments", Kind::StrList, false),
        ("terraform_version", Kind::Str, false),
        ("repository", Kind::Str, false),
        ("gitlab_project", Kind::Str, false),
    ],
};
const PROVIDER: Schema = Schema {
    fields: &[("source", Kind::Str, false), ("version", Kind::Str, false)],
};
const FEATURES: Schema = Schema {
    fields: &[
        ("log_archive", Kind::Bool, false),
        ("central_flow_logs", Kind::Bool, false),
        ("gateway_endpoints", Kind::Bool, false),
        ("replicate_storage", Kind::Bool, false),
    ],
};
/// The top level of a spec file.
const TOP: Schema = Schema {
    fields: &[
        ("organization", Kind::Block(&ORG), true),
        ("account", Kind::Labeled(&ACCOUNT), false),
        ("regions", Kind::Block(&REGIONS), true),
        ("environment", Kind::Labeled(&ENVIRONMENT), false),
        ("network", Kind::Block(&NETWORK), false),
        ("state_backend", Kind::Block(&STATE_BACKEND), true),
        ("provider", Kind::Block(&PROVIDER), false),
        ("assume_role_name", Kind::Str, false),
        ("tags", Kind::StrMap, false),
        ("features", Kind::Block(&FEATURES), false),
        ("pipelines", Kind::Block(&PIPELINES), false),
    ],
};

// ---------------------------------------------------------------------------------------
// Serde types: the file as written.

/// The spec file as written (after the located walk has checked its shape).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    /// `organization { ... }`.
    pub organization: RawOrganization,
    /// `account "<name>" { ... }` blocks by name.
    #[serde(default)]
    pub account: BTreeMap<String, RawAccount>,
    /// `regions { ... }`.
    pub regions: RawRegions,
    /// `environment "<name>" { ... }` blocks by name.
    #[serde(default)]
    pub environment: BTreeMap<String, RawEnvironment>,
    /// `network { ... }`: defaults and the supernet to allocate from.
    #[serde(default)]
    pub network: RawNetwork,
    /// `state_backend { ... }`.
    pub state_backend: RawStateBackend,
    /// `provider { ... }`.
    #[serde(default)]
    pub provider: RawProvider,
    /// The role assumed in each account.
    pub assume_role_name: Option<String>,
    /// Tags on everything.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `features { ... }` switches.
    #[serde(default)]
    pub features: RawFeatures,
    /// `pipelines { ... }`: which engines' configuration to emit.
    #[serde(default)]
    pub pipelines: RawPipelines,
}

/// `pipelines { github_actions, gitlab_ci, atlantis, terramate, makefile,
/// deploy_role_name, protected_environments, terraform_version }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipelines {
    /// `.github/workflows/bankplatform.yml`.
    pub github_actions: Option<bool>,
    /// `.gitlab-ci.yml`.
    pub gitlab_ci: Option<bool>,
    /// `atlantis.yaml`.
    pub atlantis: Option<bool>,
    /// `stack.tm.hcl` in every root and `terramate.tm.hcl` at the top.
    pub terramate: Option<bool>,
    /// `live/Makefile` (the local runner; `live/apply.sh` wraps it).
    pub makefile: Option<bool>,
    /// The role pipelines assume in each account through OIDC.
    pub deploy_role_name: Option<String>,
    /// Environments whose accounts' applies wait for an approval.
    pub protected_environments: Option<Vec<String>>,
    /// The Terraform version pipelines install.
    pub terraform_version: Option<String>,
    /// The GitHub repository (`<org>/<repo>`) whose workflows may assume the deploy
    /// roles; no deploy roles are generated when neither it nor `gitlab_project` is set.
    pub repository: Option<String>,
    /// The GitLab project (`<group>/<project>`) whose pipelines may assume them.
    pub gitlab_project: Option<String>,
}

/// `organization { name, tags }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    /// Short name, used in bucket names and tags.
    pub name: String,
    /// Tags on everything.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `account "<name>" { role, email, id, environment, tags }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// One of [`ROLES`].
    pub role: String,
    /// The account's root email.
    pub email: String,
    /// The 12-digit account id, when known.
    pub id: Option<String>,
    /// The environment this account hosts (must match `environment.account`).
    pub environment: Option<String>,
    /// Tags on this account's resources.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `regions { primary, secondary }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegions {
    /// The primary region.
    pub primary: String,
    /// The disaster-recovery region.
    pub secondary: Option<String>,
}

/// `environment "<name>" { ... }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// The workload account it runs in.
    pub account: String,
    /// One of [`DR_STRATEGIES`].
    pub dr_strategy: String,
    /// Overrides `regions.primary`.
    pub region: Option<String>,
    /// Overrides `regions.secondary`.
    pub secondary_region: Option<String>,
    /// `network { cidr, secondary_cidr, az_count, nat_gateway_strategy }`.
    #[serde(default)]
    pub network: RawEnvNetwork,
    /// Tags on this environment's resources.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An environment's `network { ... }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvNetwork {
    /// The primary region's VPC CIDR; allocated from the supernet when absent.
    pub cidr: Option<String>,
    /// The secondary region's VPC CIDR; allocated from the supernet when absent.
    pub secondary_cidr: Option<String>,
    /// Availability zones per VPC.
    pub az_count: Option<u32>,
    /// One of [`NAT_STRATEGIES`] for the primary VPC.
    pub nat_gateway_strategy: Option<String>,
}

/// The top-level `network { ... }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// The range environment CIDRs are allocated from.
    pub supernet: Option<String>,
    /// The prefix length of each allocated VPC CIDR.
    pub prefix: Option<u8>,
    /// Default availability zones per VPC.
    pub az_count: Option<u32>,
    /// Flow log retention in days.
    pub flow_logs_retention_days: Option<u32>,
}

/// `state_backend { bucket_prefix, region, lock }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawStateBackend {
    /// The state bucket is named `<bucket_prefix>-<region>`.
    pub bucket_prefix: String,
    /// Defaults to `regions.primary`.
    pub region: Option<String>,
    /// State locking; on by default.
    pub lock: Option<bool>,
    /// `lockfile` (S3 native locking, Terraform 1.10 and later) or `dynamodb` (a lock
    /// table, for older Terraform); by default, what `pipelines.terraform_version` supports.
    pub lock_with: Option<String>,
}

/// `provider { source, version }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Registry address.
    pub source: Option<String>,
    /// Version constraint.
    pub version: Option<String>,
}

/// `features { ... }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeatures {
    /// Generate the log-archive stack (audit, archive and flow-log buckets).
    pub log_archive: Option<bool>,
    /// Send VPC flow logs to the log-archive account's bucket.
    pub central_flow_logs: Option<bool>,
    /// S3 and DynamoDB gateway endpoints in every VPC.
    pub gateway_endpoints: Option<bool>,
    /// Replicate each environment's transaction bucket to its secondary region (pilot light and up).
    pub replicate_storage: Option<bool>,
}

// ---------------------------------------------------------------------------------------
// The resolved spec.

/// An account's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The organization's management account: state bucket, organization.
    Management,
    /// Security services.
    Security,
    /// Central logs: audit, archive and flow-log buckets.
    LogArchive,
    /// Shared services (CI/CD, monitoring).
    SharedServices,
    /// An environment's account.
    Workload,
}

impl Role {
    fn parse(s: &str) -> Role {
        match s {
            "management" => Role::Management,
            "security" => Role::Security,
            "log_archive" => Role::LogArchive,
            "shared_services" => Role::SharedServices,
            _ => Role::Workload,
        }
    }

    /// The role as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Management => "management",
            Role::Security => "security",
            Role::LogArchive => "log_archive",
            Role::SharedServices => "shared_services",
            Role::Workload => "workload",
        }
    }
}

/// A disaster-recovery strategy: what exists in the secondary region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DrStrategy {
    /// Backups only; nothing runs in the secondary region.
    BackupRestore,
    /// A minimal network and replicated data in the secondary region.
    PilotLight,
    /// A scaled-down but complete copy in the secondary region.
    WarmStandby,
    /// A full active copy in the secondary region.
    MultiRegion,
}

impl DrStrategy {
    fn parse(s: &str) -> DrStrategy {
        match s {
            "pilot_light" => DrStrategy::PilotLight,
            "warm_standby" => DrStrategy::WarmStandby,
            "multi_region" => DrStrategy::MultiRegion,
            _ => DrStrategy::BackupRestore,
        }
    }

    /// The strategy as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            DrStrategy::BackupRestore => "backup_restore",
            DrStrategy::PilotLight => "pilot_light",
            DrStrategy::WarmStandby => "warm_standby",
            DrStrategy::MultiRegion => "multi_region",
        }
    }

    /// Whether anything runs in the secondary region.
    pub fn needs_secondary(self) -> bool {
        self != DrStrategy::BackupRestore
    }
}

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Its name in the spec: the directory under `live/`.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Root email.
    pub email: String,
    /// 12-digit id, when known.
    pub id: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// One environment, with its network resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// Its name in the spec.
    pub name: String,
    /// The workload account it runs in.
    pub account: String,
    /// What exists in the secondary region.
    pub dr_strategy: DrStrategy,
    /// The primary region.
    pub region: String,
    /// The secondary region, when configured.
    pub secondary_region: Option<String>,
    /// The primary VPC CIDR.
    pub cidr: Ipv4Net,
    /// The secondary VPC CIDR (reserved even when nothing runs there, so CIDRs stay put).
    pub secondary_cidr: Option<Ipv4Net>,
    /// Availability zones per VPC.
    pub az_count: u32,
    /// The primary VPC's NAT layout.
    pub nat_gateway_strategy: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Feature switches, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Features {
    /// Generate the log-archive stack.
    pub log_archive: bool,
    /// VPC flow logs go to the log-archive bucket.
    pub central_flow_logs: bool,
    /// S3 and DynamoDB gateway endpoints.
    pub gateway_endpoints: bool,
    /// Transaction buckets replicate to the secondary region for pilot light and up.
    pub replicate_storage: bool,
}

/// Which engines' configuration the generator emits, and how pipelines reach accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipelines {
    /// `.github/workflows/bankplatform.yml`.
    pub github_actions: bool,
    /// `.gitlab-ci.yml`.
    pub gitlab_ci: bool,
    /// `atlantis.yaml`.
    pub atlantis: bool,
    /// Terramate stack metadata.
    pub terramate: bool,
    /// `live/Makefile`.
    pub makefile: bool,
    /// The role assumed in each account through OIDC.
    pub deploy_role_name: String,
    /// Environments whose accounts need an approval before apply (the management,
    /// security and log-archive accounts always do: they affect every account).
    pub protected_environments: Vec<String>,
    /// The Terraform version pipelines install.
    pub terraform_version: String,
    /// Who may assume the deploy roles: a GitHub repository or a GitLab project.
    pub trusted: Option<Trusted>,
}

/// The CI project whose pipelines may assume the deploy roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trusted {
    /// `<org>/<repo>` on GitHub (token.actions.githubusercontent.com).
    GitHub(String),
    /// `<group>/<project>` on GitLab (gitlab.com).
    GitLab(String),
}

/// How the roots lock their state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateLock {
    /// No locking.
    None,
    /// S3 native lock files (`use_lockfile`, Terraform 1.10 and later).
    LockFile,
    /// A DynamoDB table made by the bootstrap root (`dynamodb_table`, any version).
    DynamoDb,
}

/// The resolved, checked spec that [`crate::layout`] works from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Organization name.
    pub organization: String,
    /// Accounts by name.
    pub accounts: BTreeMap<String, Account>,
    /// The default primary region.
    pub primary_region: String,
    /// The default secondary region.
    pub secondary_region: Option<String>,
    /// Environments by name.
    pub environments: BTreeMap<String, Environment>,
    /// The state bucket's name.
    pub state_bucket: String,
    /// The state bucket's region.
    pub state_region: String,
    /// How state is locked.
    pub state_lock: StateLock,
    /// Provider registry address.
    pub provider_source: String,
    /// Provider version constraint.
    pub provider_version: String,
    /// Role assumed in each account.
    pub assume_role_name: String,
    /// Organization and top-level tags merged (top-level wins).
    pub tags: BTreeMap<String, String>,
    /// Flow log retention in days.
    pub flow_logs_retention_days: u32,
    /// Feature switches.
    pub features: Features,
    /// Pipeline engines.
    pub pipelines: Pipelines,
}

impl Spec {
    /// The DynamoDB table locking the state (with `StateLock::DynamoDb`).
    pub fn lock_table(&self) -> String {
        format!("{}-lock", self.state_bucket)
    }

    /// The account with `role` (the first by name for workload).
    pub fn account_with_role(&self, role: Role) -> Option<&Account> {
        self.accounts.values().find(|a| a.role == role)
    }
}

// ---------------------------------------------------------------------------------------
// Reading.

/// Reads and checks the spec in `path`.
pub fn load(path: &Path) -> anyhow::Result<Spec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading spec {}: {e}", path.display()))?;
    Ok(parse(path, &text)?)
}

/// Parses and checks spec `text`, naming it `file` in errors.
pub fn parse(file: &Path, text: &str) -> Result<Spec, SpecErrors> {
    let src = Source::new(file, text);
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let offset = e.location().offset();
        let mut err = src.error(
            Some(offset..offset + 1),
            format!("syntax error: {}", e.message()),
        );
        err.location.line = e.location().line();
        err.location.column = e.location().column();
        err.source_line = src.line_text(err.location.line);
        SpecErrors(vec![err])
    })?;
    let mut walk = Walk {
        src: &src,
        spans: HashMap::new(),
        order: Vec::new(),
        errors: Vec::new(),
    };
    walk.body(&body, &TOP, "", body.span());
    if !walk.errors.is_empty() {
        return Err(SpecErrors(walk.errors));
    }
    let raw: RawSpec = hcl::from_body(hcl::Body::from(body))
        .map_err(|e| SpecErrors(vec![src.error(Some(0..0), format!("reading the spec: {e}"))]))?;
    let located = Located {
        src: &src,
        spans: walk.spans,
    };
    validate(&raw, &walk.order, &located)
}

/// Byte spans of blocks and attributes by path, for semantic errors.
struct Located<'a> {
    src: &'a Source,
    spans: HashMap<String, Range<usize>>,
}

impl Located<'_> {
    /// An error at the first of `paths` that has a span (falling back to the file start).
    fn error(&self, paths: &[&str], message: impl Into<String>) -> SpecError {
        let span = paths.iter().find_map(|p| self.spans.get(*p).cloned());
        self.src.error(span.or(Some(0..0)), message)
    }
}

/// The located schema walk.
struct Walk<'a> {
    src: &'a Source,
    spans: HashMap<String, Range<usize>>,
    /// Labeled blocks in declaration order, as `(ident, label)`.
    order: Vec<(String, String)>,
    errors: Vec<SpecError>,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn describe(prefix: &str) -> String {
    if prefix.is_empty() {
        "the top level".to_string()
    } else {
        let mut parts = prefix.split('.');
        let first = parts.next().unwrap_or_default();
        let mut out = first.to_string();
        let labeled = TOP
            .fields
            .iter()
            .any(|(k, kind, _)| *k == first && matches!(kind, Kind::Labeled(_)));
        if labeled {
            if let Some(label) = parts.next() {
                out = format!("{first} \"{label}\"");
            }
        }
        for p in parts {
            out = format!("{out} {{ {p}");
        }
        format!("`{out}`")
    }
}

impl Walk<'_> {
    fn body(&mut self, body: &EBody, schema: &Schema, prefix: &str, span: Option<Range<usize>>) {
        let keys: Vec<&str> = schema.fields.iter().map(|f| f.0).collect();
        let mut seen: HashMap<String, Range<usize>> = HashMap::new();
        let mut suggested: Vec<&str> = Vec::new();
        for structure in body.iter() {
            let (key, key_span) = match structure {
                EStructure::Attribute(a) => (a.key.as_str().to_string(), a.key.span()),
                EStructure::Block(b) => (b.ident.as_str().to_string(), b.ident.span()),
            };
            let Some(&(_, kind, _)) = schema.fields.iter().find(|f| f.0 == key) else {
                let mut err = self.src.error(
                    key_span,
                    format!("unknown key `{key}` in {}", describe(prefix)),
                );
                err = match did_you_mean(&key, keys.iter().copied()) {
                    Some(s) => {
                        suggested.push(s);
                        err.with_help(format!("did you mean `{s}`?"))
                    }
                    None => err.with_help(format!("expected one of: {}", keys.join(", "))),
                };
                self.errors.push(err);
                continue;
            };
            let path = join(prefix, &key);
            match (structure, kind) {
                (EStructure::Block(b), Kind::Block(inner)) => {
                    if !b.labels.is_empty() {
                        self.errors.push(
                            self.src
                                .error(b.labels[0].span(), format!("`{key}` takes no label")),
                        );
                    }
                    if let Some(first) = seen.get(&key) {
                        let line = self.src.location(first.start).line;
                        self.errors.push(self.src.error(
                            key_span.clone(),
                            format!(
                                "duplicate `{key}` block in {} (first at line {line})",
                                describe(prefix)
                            ),
                        ));
                        continue;
                    }
                    seen.insert(key.clone(), b.span().unwrap_or(0..0));
                    self.spans.insert(path.clone(), b.span().unwrap_or(0..0));
                    self.body(&b.body, inner, &path, b.span());
                }
                (EStructure::Block(b), Kind::Labeled(inner)) => {
                    if b.labels.len() != 1 {
                        self.errors.push(self.src.error(
                            key_span,
                            format!("`{key}` takes exactly one label, its name: `{key} \"name\" {{ ... }}`"),
                        ));
                        continue;
                    }
                    let label = b.labels[0].as_str().to_string();
                    let lpath = join(&path, &label);
                    if let Some(first) = self.spans.get(&lpath) {
                        let line = self.src.location(first.start).line;
                        self.errors.push(self.src.error(
                            b.labels[0].span(),
                            format!(
                                "duplicate {key} name `{label}` (first defined at line {line})"
                            ),
                        ));
                        continue;
                    }
                    if !valid_name(&label) {
                        self.errors.push(self.src.error(
                            b.labels[0].span(),
                            format!("invalid {key} name `{label}`: use lower-case letters, digits, `-` and `_`, starting with a letter"),
                        ));
                    }
                    self.spans.insert(lpath.clone(), b.span().unwrap_or(0..0));
                    self.order.push((key.clone(), label));
                    self.body(&b.body, inner, &lpath, b.span());
                }
                (EStructure::Attribute(a), Kind::Block(_) | Kind::Labeled(_)) => {
                    let example = if matches!(kind, Kind::Labeled(_)) {
                        format!("{key} \"name\" {{ ... }}")
                    } else {
                        format!("{key} {{ ... }}")
                    };
                    self.errors.push(
                        self.src
                            .error(
                                a.key.span(),
                                format!("`{key}` is a block, not an attribute"),
                            )
                            .with_help(format!("write `{example}`")),
                    );
                }
                (EStructure::Block(_), _) => {
                    self.errors.push(
                        self.src
                            .error(key_span, format!("`{key}` is an attribute, not a block"))
                            .with_help(format!("write `{key} = ...`")),
                    );
                }
                (EStructure::Attribute(a), kind) => {
                    if seen.contains_key(&key) {
                        self.errors.push(self.src.error(
                            key_span,
                            format!("`{key}` is set twice in {}", describe(prefix)),
                        ));
                        continue;
                    }
                    seen.insert(key.clone(), a.span().unwrap_or(0..0));
                    self.spans
                        .insert(path.clone(), a.value.span().unwrap_or(0..0));
                    self.value(&a.value, kind, &key);
                }
            }
        }
        for (key, kind, required) in schema.fields {
            // A misspelt key has been reported already, with the suggestion.
            let misspelt = suggested.contains(key);
            if *required
                && !misspelt
                && !seen.contains_key(*key)
                && !matches!(kind, Kind::Labeled(_))
            {
                let what = match kind {
                    Kind::Block(_) => format!("block `{key} {{ ... }}`"),
                    _ => format!("attribute `{key}`"),
                };
                let span = span.clone().map(|s| s.start..s.start);
                self.errors.push(self.src.error(
                    span,
                    format!("{} is missing the required {what}", describe(prefix)),
                ));
            }
        }
    }

    fn value(&mut self, expr: &EExpr, kind: Kind, key: &str) {
        let span = expr.span();
        let got = expr_kind(expr);
        let ok = match kind {
            Kind::Str | Kind::Enum(_) => matches!(expr, EExpr::String(_)),
            Kind::Int => match expr {
                EExpr::Number(n) => n.as_u64().is_some(),
                _ => false,
            },
            Kind::Bool => matches!(expr, EExpr::Bool(_)),
            Kind::StrMap => match expr {
                EExpr::Object(obj) => {
                    for (k, v) in obj.iter() {
                        if let EKey::Expression(e) = k {
                            if !matches!(e, EExpr::String(_)) {
                                self.errors.push(self.src.error(
                                    e.span(),
                                    format!(
                                        "keys of `{key}` must be names or strings, not {}",
                                        expr_kind(e)
                                    ),
                                ));
                            }
                        }
                        if !matches!(v.expr(), EExpr::String(_)) {
                            self.errors.push(self.src.error(
                                v.expr().span(),
                                format!(
                                    "values of `{key}` must be strings, not {}",
                                    expr_kind(v.expr())
                                ),
                            ));
                        }
                    }
                    true
                }
                _ => false,
            },
            Kind::StrList => match expr {
                EExpr::Array(items) => {
                    for v in items.iter() {
                        if !matches!(v, EExpr::String(_)) {
                            self.errors.push(self.src.error(
                                v.span(),
                                format!("items of `{key}` must be strings, not {}", expr_kind(v)),
                            ));
                        }
                    }
                    true
                }
                _ => false,
            },
            Kind::Block(_) | Kind::Labeled(_) => true,
        };
        if !ok {
            let expected = match kind {
                Kind::Str => "a string".to_string(),
                Kind::Enum(vals) => format!("one of {}", quoted_list(vals)),
                Kind::Int => "a whole number".to_string(),
                Kind::Bool => "true or false".to_string(),
                Kind::StrMap => "an object of strings, such as { team = \"platform\" }".to_string(),
                Kind::StrList => "a list of strings, such as [\"production\"]".to_string(),
                Kind::Block(_) | Kind::Labeled(_) => "a block".to_string(),
            };
            self.errors.push(
                self.src
                    .error(span, format!("`{key}` must be {expected}, not {got}"))
                    .with_help("the spec takes literal values only: no variables, functions or interpolation"),
            );
            return;
        }
        if let (Kind::Enum(vals), EExpr::String(s)) = (kind, expr) {
            let v = s.as_str();
            if !vals.contains(&v) {
                let mut err = self.src.error(
                    span,
                    format!("`{key}` must be one of {}, not \"{v}\"", quoted_list(vals)),
                );
                if let Some(s) = did_you_mean(v, vals.iter().copied()) {
                    err = err.with_help(format!("did you mean \"{s}\"?"));
                }
                self.errors.push(err);
            }
        }
    }
}

fn quoted_list(vals: &[&str]) -> String {
    vals.iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn expr_kind(expr: &EExpr) -> &'static str {
    match expr {
        EExpr::Null(_) => "null",
        EExpr::Bool(_) => "a bool",
        EExpr::Number(_) => "a number",
        EExpr::String(_) => "a string",
        EExpr::Array(_) => "a list",
        EExpr::Object(_) => "an object",
        EExpr::StringTemplate(_) | EExpr::HeredocTemplate(_) => "a template",
        EExpr::Variable(_) | EExpr::Traversal(_) => "a reference",
        EExpr::FuncCall(_) => "a function call",
        _ => "an expression",
    }
}

/// Whether `name` can be an account or environment name (it becomes a directory and part of identifiers).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_'))
        && name.len() <= 40
}

/// Whether `region` looks like an AWS region name, such as `eu-west-1`.
pub fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Resolves defaults, allocates CIDRs and runs the semantic checks.
fn validate(
    raw: &RawSpec,
    order: &[(String, String)],
    loc: &Located<'_>,
) -> Result<Spec, SpecErrors> {
    let mut errors = Vec::new();

    // Regions.
    let primary = raw.regions.primary.clone();
    let secondary = raw.regions.secondary.clone();
    for (path, region) in [
        ("regions.primary", Some(&primary)),
        ("regions.secondary", secondary.as_ref()),
    ] {
        if let Some(r) = region {
            if !valid_region(r) {
                errors.push(loc.error(
                    &[path],
                    format!("\"{r}\" is not an AWS region name such as \"eu-west-1\""),
                ));
            }
        }
    }
    if secondary.as_deref() == Some(primary.as_str()) {
        errors.push(loc.error(
            &["regions.secondary"],
            "the secondary region must differ from the primary region",
        ));
    }

    // Accounts.
    let mut accounts = BTreeMap::new();
    let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, a) in &raw.account {
        let base = format!("account.{name}");
        if let Some(id) = &a.id {
            if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
                errors.push(loc.error(
                    &[&format!("{base}.id")],
                    format!("account id \"{id}\" must be 12 digits"),
                ));
            } else if let Some(other) = ids.insert(id, name) {
                errors.push(loc.error(
                    &[&format!("{base}.id")],
                    format!("account id {id} is used by both `{other}` and `{name}`"),
                ));
            }
        }
        if !a.email.contains('@') {
            errors.push(loc.error(
                &[&format!("{base}.email")],
                format!("\"{}\" is not an email address", a.email),
            ));
        }
        accounts.insert(
            name.clone(),
            Account {
                name: name.clone(),
                role: Role::parse(&a.role),
                email: a.email.clone(),
                id: a.id.clone(),
                tags: a.tags.clone(),
            },
        );
    }
    for role in SINGLETON_ROLES {
        let with: Vec<&String> = raw
            .account
            .iter()
            .filter(|(_, a)| a.role == *role)
            .map(|(n, _)| n)
            .collect();
        if with.is_empty() {
            errors.push(
                loc.error(&["organization"], format!("no account has role \"{role}\""))
                    .with_help(format!(
                        "the platform needs one account each for {}, plus workload accounts; add `account \"{}\" {{ role = \"{role}\" ... }}`",
                        quoted_list(SINGLETON_ROLES),
                        role.replace('_', "-")
                    )),
            );
        } else if with.len() > 1 {
            errors.push(loc.error(
                &[&format!("account.{}.role", with[1])],
                format!(
                    "accounts `{}` and `{}` both have role \"{role}\"; exactly one may",
                    with[0], with[1]
                ),
            ));
        }
    }
    if !raw.account.values().any(|a| a.role == "workload") {
        errors.push(
            loc.error(&["organization"], "no account has role \"workload\"")
                .with_help("environments run in workload accounts; add one per environment"),
        );
    }

    // Environments.
    let net = &raw.network;
    let az_default = net.az_count.unwrap_or(3);
    let mut envs = BTreeMap::new();
    let mut hosted: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, e) in &raw.environment {
        let base = format!("environment.{name}");
        match raw.account.get(&e.account) {
            None => {
                let mut err = loc.error(
                    &[&format!("{base}.account")],
                    format!("environment `{name}` refers to unknown account `{}`", e.account),
                );
                if let Some(s) = did_you_mean(&e.account, raw.account.keys().map(String::as_str)) {
                    err = err.with_help(format!("did you mean `{s}`?"));
                }
                errors.push(err);
            }
            Some(a) if a.role != "workload" => errors.push(loc.error(
                &[&format!("{base}.account")],
                format!(
                    "environment `{name}` uses account `{}`, whose role is \"{}\"; environments run in workload accounts",
                    e.account, a.role
                ),
            )),
            Some(_) => {
                if let Some(other) = hosted.insert(&e.account, name) {
                    errors.push(loc.error(
                        &[&format!("{base}.account")],
                        format!("account `{}` already hosts environment `{other}`; give each environment its own account", e.account),
                    ));
                }
            }
        }
        let region = e.region.clone().unwrap_or_else(|| primary.clone());
        let sec = e.secondary_region.clone().or_else(|| secondary.clone());
        for (key, r) in [
            ("region", e.region.as_ref()),
            ("secondary_region", e.secondary_region.as_ref()),
        ] {
            if let Some(r) = r {
                if !valid_region(r) {
                    errors.push(loc.error(
                        &[&format!("{base}.{key}")],
                        format!("\"{r}\" is not an AWS region name such as \"eu-west-1\""),
                    ));
                }
            }
        }
        let dr = DrStrategy::parse(&e.dr_strategy);
        if dr.needs_secondary() && sec.is_none() {
            errors.push(
                loc.error(
                    &[&format!("{base}.dr_strategy")],
                    format!("DR strategy \"{}\" of environment `{name}` needs a secondary region, and none is configured", dr.as_str()),
                )
                .with_help("set `secondary = \"...\"` in `regions { ... }` (or `secondary_region` in this environment), or use \"backup_restore\""),
            );
        }
        if sec.as_deref() == Some(region.as_str()) {
            errors.push(loc.error(
                &[
                    &format!("{base}.secondary_region"),
                    &format!("{base}.region"),
                    "regions.secondary",
                ],
                format!(
                    "environment `{name}` has the same primary and secondary region ({region})"
                ),
            ));
        }
        let az = e.network.az_count.unwrap_or(az_default);
        if !(1..=6).contains(&az) {
            errors.push(loc.error(
                &[&format!("{base}.network.az_count"), "network.az_count"],
                format!("az_count must be between 1 and 6, not {az}"),
            ));
        }
        envs.insert(
            name.clone(),
            Environment {
                name: name.clone(),
                account: e.account.clone(),
                dr_strategy: dr,
                region,
                secondary_region: sec,
                cidr: Ipv4Net::default(),
                secondary_cidr: None,
                az_count: az,
                nat_gateway_strategy: e
                    .network
                    .nat_gateway_strategy
                    .clone()
                    .unwrap_or_else(|| "one_per_az".into()),
                tags: e.tags.clone(),
            },
        );
    }
    for (name, a) in &raw.account {
        if let Some(env) = &a.environment {
            match raw.environment.get(env) {
                Some(e) if e.account == *name => {}
                Some(e) => errors.push(loc.error(
                    &[&format!("account.{name}.environment")],
                    format!("account `{name}` says it hosts environment `{env}`, but that environment runs in account `{}`", e.account),
                )),
                None => {
                    let mut err = loc.error(
                        &[&format!("account.{name}.environment")],
                        format!("account `{name}` refers to unknown environment `{env}`"),
                    );
                    if let Some(s) = did_you_mean(env, raw.environment.keys().map(String::as_str)) {
                        err = err.with_help(format!("did you mean `{s}`?"));
                    }
                    errors.push(err);
                }
            }
        }
    }

    // Networks: explicit CIDRs, then allocation in declaration order.
    allocate(raw, order, &mut envs, loc, &mut errors);

    // Features.
    let f = &raw.features;
    let features = Features {
        log_archive: f.log_archive.unwrap_or(true),
        central_flow_logs: f.central_flow_logs.unwrap_or(true),
        gateway_endpoints: f.gateway_endpoints.unwrap_or(true),
        replicate_storage: f.replicate_storage.unwrap_or(true),
    };
    if features.central_flow_logs && !features.log_archive && f.central_flow_logs == Some(true) {
        errors.push(loc.error(
            &["features.central_flow_logs"],
            "central_flow_logs needs the log-archive stack, which `log_archive = false` turns off",
        ));
    }
    let features = Features {
        central_flow_logs: features.central_flow_logs && features.log_archive,
        ..features
    };

    let state_region = raw
        .state_backend
        .region
        .clone()
        .unwrap_or_else(|| primary.clone());
    if !valid_region(&state_region) {
        errors.push(loc.error(
            &["state_backend.region"],
            format!("\"{state_region}\" is not an AWS region name"),
        ));
    }
    let bucket_prefix = &raw.state_backend.bucket_prefix;
    let state_bucket = format!("{bucket_prefix}-{state_region}");
    if !bucket_prefix
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || state_bucket.len() > 63
        || bucket_prefix.len() < 3
    {
        errors.push(loc.error(
            &["state_backend.bucket_prefix"],
            format!("bucket_prefix \"{bucket_prefix}\" must be 3 or more lower-case letters, digits and hyphens (the bucket is named \"{state_bucket}\", at most 63 characters)"),
        ));
    }
    let retention = net.flow_logs_retention_days.unwrap_or(365);
    let p = &raw.pipelines;
    let pipelines = Pipelines {
        github_actions: p.github_actions.unwrap_or(true),
        gitlab_ci: p.gitlab_ci.unwrap_or(true),
        atlantis: p.atlantis.unwrap_or(true),
        terramate: p.terramate.unwrap_or(true),
        makefile: p.makefile.unwrap_or(true),
        deploy_role_name: p
            .deploy_role_name
            .clone()
            .unwrap_or_else(|| "bankplatform-deploy".into()),
        protected_environments: p
            .protected_environments
            .clone()
            .unwrap_or_else(|| vec!["production".into()]),
        terraform_version: p
            .terraform_version
            .clone()
            .unwrap_or_else(|| "1.15.5".into()),
        trusted: None,
    };
    for name in &pipelines.protected_environments {
        if !envs.contains_key(name) && p.protected_environments.is_some() {
            errors.push(loc.error(
                &["pipelines.protected_environments"],
                format!("protected_environments names \"{name}\", which is not an environment of this spec"),
            ));
        }
    }
    if !pipelines
        .deploy_role_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        || pipelines.deploy_role_name.is_empty()
        || pipelines.deploy_role_name.len() > 64
    {
        errors.push(loc.error(
            &["pipelines.deploy_role_name"],
            format!(
                "\"{}\" is not an IAM role name (1 to 64 letters, digits and +=,.@_-)",
                pipelines.deploy_role_name
            ),
        ));
    }
    let project_ok = |p: &str| {
        let parts: Vec<&str> = p.split('/').collect();
        parts.len() >= 2
            && parts.iter().all(|x| {
                !x.is_empty()
                    && x.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
    };
    for (key, value) in [
        ("repository", &p.repository),
        ("gitlab_project", &p.gitlab_project),
    ] {
        if let Some(v) = value {
            if !project_ok(v) {
                errors.push(loc.error(
                    &[&format!("pipelines.{key}")],
                    format!("\"{v}\" does not name one project: write it as <org>/<repo> (GitHub) or <group>/<project> (GitLab), without wildcards"),
                ));
            }
        }
    }
    let trusted = match (&p.repository, &p.gitlab_project) {
        (Some(r), None) => Some(Trusted::GitHub(r.clone())),
        (None, Some(g)) => Some(Trusted::GitLab(g.clone())),
        (None, None) => None,
        (Some(_), Some(_)) => {
            errors.push(loc.error(
                &["pipelines.gitlab_project"],
                "the deploy roles trust one CI: set either repository (GitHub) or gitlab_project (GitLab), not both".to_string(),
            ));
            None
        }
    };
    let pipelines = Pipelines {
        trusted,
        ..pipelines
    };
    // S3 lock files need Terraform 1.10; older versions lock with a DynamoDB table.
    let native_lock = version_at_least(&pipelines.terraform_version, 1, 10);
    let state_lock = match (
        raw.state_backend.lock.unwrap_or(true),
        raw.state_backend.lock_with.as_deref(),
    ) {
        (false, _) => StateLock::None,
        (true, Some("dynamodb")) => StateLock::DynamoDb,
        (true, Some(_)) if !native_lock => {
            errors.push(loc.error(
                &["state_backend.lock_with"],
                format!("S3 lock files need Terraform 1.10 or later; pipelines.terraform_version is {}: use lock_with = \"dynamodb\"", pipelines.terraform_version),
            ));
            StateLock::LockFile
        }
        (true, Some(_)) => StateLock::LockFile,
        (true, None) if native_lock => StateLock::LockFile,
        (true, None) => StateLock::DynamoDb,
    };
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.location.line, e.location.column));
        return Err(SpecErrors(errors));
    }
    let mut tags = raw.organization.tags.clone();
    tags.extend(raw.tags.clone());
    Ok(Spec {
        organization: raw.organization.name.clone(),
        accounts,
        primary_region: primary,
        secondary_region: secondary,
        environments: envs,
        state_bucket,
        state_region,
        state_lock,
        provider_source: raw
            .provider
            .source
            .clone()
            .unwrap_or_else(|| DEFAULT_PROVIDER_SOURCE.into()),
        provider_version: raw
            .provider
            .version
            .clone()
            .unwrap_or_else(|| DEFAULT_PROVIDER_VERSION.into()),
        assume_role_name: raw
            .assume_role_name
            .clone()
            .unwrap_or_else(|| DEFAULT_ASSUME_ROLE.into()),
        tags,
        flow_logs_retention_days: retention,
        features,
        pipelines,
    })
}

/// Parses explicit CIDRs, allocates the rest from the supernet, and checks for overlaps.
///
/// Every environment gets two slots (primary and secondary) whether or not its DR
/// strategy uses the secondary one, and slots are handed out in declaration order, so
/// changing a strategy or appending an environment never moves an existing network.
fn allocate(
    raw: &RawSpec,
    order: &[(String, String)],
    envs: &mut BTreeMap<String, Environment>,
    loc: &Located<'_>,
    errors: &mut Vec<SpecError>,
) {
    let supernet = match raw.network.supernet.as_deref().map(str::parse::<Ipv4Net>) {
        None => None,
        Some(Ok(n)) => Some(n.trunc()),
        Some(Err(_)) => {
            errors.push(loc.error(
                &["network.supernet"],
                format!(
                    "supernet \"{}\" is not an IPv4 CIDR such as \"10.0.0.0/8\"",
                    raw.network.supernet.as_deref().unwrap_or("")
                ),
            ));
            return;
        }
    };
    let prefix = raw.network.prefix.unwrap_or(16);
    if let Some(s) = supernet {
        if prefix < s.prefix_len() || prefix > 28 {
            errors.push(loc.error(
                &["network.prefix", "network.supernet"],
                format!(
                    "prefix /{prefix} must lie between the supernet's /{} and /28",
                    s.prefix_len()
                ),
            ));
            return;
        }
    }
    // `(environment, slot, path)` → CIDR, for every explicit CIDR.
    let mut taken: Vec<(Ipv4Net, String, String)> = Vec::new();
    let env_order: Vec<&String> = order
        .iter()
        .filter(|(k, _)| k == "environment")
        .map(|(_, l)| l)
        .collect();
    let check = |net: Ipv4Net,
                 who: String,
                 path: String,
                 taken: &mut Vec<(Ipv4Net, String, String)>,
                 errors: &mut Vec<SpecError>| {
        for (other, other_who, _) in taken.iter() {
            if other.contains(&net) || net.contains(other) {
                let overlap = if other.prefix_len() >= net.prefix_len() {
                    *other
                } else {
                    net
                };
                errors.push(
                    loc.error(&[&path], format!("{who} ({net}) overlaps {other_who} ({other}): both contain {overlap}"))
                        .with_help("VPCs of different environments and regions route to each other over a Transit Gateway, so their CIDRs must not overlap"),
                );
                return;
            }
        }
        taken.push((net, who, path));
    };
    let mut explicit: BTreeMap<(String, bool), Ipv4Net> = BTreeMap::new();
    for name in &env_order {
        let e = &raw.environment[*name];
        for (secondary, key, value) in [
            (false, "cidr", &e.network.cidr),
            (true, "secondary_cidr", &e.network.secondary_cidr),
        ] {
            let Some(text) = value else { continue };
            let path = format!("environment.{name}.network.{key}");
            match text.parse::<Ipv4Net>() {
                Ok(net) if net.trunc() != net => errors.push(loc.error(
                    &[&path],
                    format!(
                        "\"{text}\" has host bits set; did you mean \"{}\"?",
                        net.trunc()
                    ),
                )),
                Ok(net) => {
                    if let Some(err) = check_size(net, envs.get(*name).map_or(3, |e| e.az_count)) {
                        errors.push(loc.error(&[&path], err));
                    }
                    let who = slot_name(name, secondary);
                    check(net, who, path, &mut taken, errors);
                    explicit.insert(((*name).clone(), secondary), net);
                }
                Err(_) => errors.push(loc.error(
                    &[&path],
                    format!("\"{text}\" is not an IPv4 CIDR such as \"10.1.0.0/16\""),
                )),
            }
        }
    }
    let mut next = supernet.map(|s| {
        s.subnets(prefix)
            .expect("prefix checked against the supernet")
    });
    for name in &env_order {
        for secondary in [false, true] {
            let net = if let Some(net) = explicit.get(&((*name).clone(), secondary)) {
                Some(*net)
            } else {
                let Some(iter) = next.as_mut() else {
                    if !secondary {
                        errors.push(
                            loc.error(
                                &[&format!("environment.{name}.network"), &format!("environment.{name}")],
                                format!("environment `{name}` has no `network {{ cidr = ... }}` and there is no `network {{ supernet = ... }}` to allocate from"),
                            )
                            .with_help("set a CIDR per environment, or a supernet and prefix at the top level"),
                        );
                    }
                    continue;
                };
                let found = iter
                    .by_ref()
                    .find(|c| !taken.iter().any(|(t, _, _)| t.contains(c) || c.contains(t)));
                match found {
                    Some(c) => {
                        taken.push((c, slot_name(name, secondary), format!("environment.{name}")));
                        Some(c)
                    }
                    None => {
                        errors.push(loc.error(
                            &["network.supernet"],
                            format!(
                                "supernet is exhausted: no /{prefix} left for environment `{name}`"
                            ),
                        ));
                        return;
                    }
                }
            };
            if let (Some(net), Some(env)) = (net, envs.get_mut(*name)) {
                if secondary {
                    env.secondary_cidr = Some(net);
                } else {
                    env.cidr = net;
                }
            }
        }
    }
    if next.is_some() {
        let az = raw.network.az_count.unwrap_or(3);
        let slot = Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, prefix).expect("prefix ≤ 28");
        if let Some(err) = check_size(slot, az) {
            errors.push(loc.error(&["network.prefix"], err.replacen("0.0.0.0/", "prefix /", 1)));
        }
    }
}

fn slot_name(env: &str, secondary: bool) -> String {
    if secondary {
        format!("the secondary network of environment `{env}`")
    } else {
        format!("the network of environment `{env}`")
    }
}

/// Subnet prefix lengths of the three tiers in a VPC of prefix `vpc`: the provider's
/// defaults for a /16 (public /24, private /20, restricted /24), each as many bits
/// longer as the VPC is, and at most /28 (AWS's smallest subnet).
pub fn tier_prefixes(vpc: u8) -> [(&'static str, u8); 3] {
    let grown = |bits: u8| (vpc + bits).min(28);
    [
        ("public", grown(8)),
        ("private", grown(4)),
        ("restricted", grown(8)),
    ]
}

/// Checks a VPC CIDR can hold the three tiers sized by [`tier_prefixes`]: the provider
/// reserves 8 subnets per tier (one per zone letter a to h, so zones can be added
/// without renumbering), each tier in an aligned block of its own.
fn check_size(net: Ipv4Net, az: u32) -> Option<String> {
    let p = net.prefix_len();
    let tiers = tier_prefixes(p);
    let need: u64 = tiers
        .iter()
        .map(|(_, t)| 8u64 << (32 - u32::from(*t)))
        .sum();
    let have: u64 = 1 << (32 - u32::from(p));
    let shown = tiers
        .iter()
        .map(|(n, t)| format!("{n} /{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    (have < need || az > 8).then(|| {
        format!(
            "{net} is too small for the three tiers ({shown}; 8 subnets reserved per tier, one per zone letter, for up to 8 availability zones; {az} asked): they need {need} addresses, it has {have}; use /23 or larger"
        )
    })
}

/// Whether a version such as `1.15.5` is at least `major.minor`.
fn version_at_least(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}
