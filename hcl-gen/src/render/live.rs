//! One Terraform root per unit under `live/<account>/<region>/<stack>/`.
//!
//! Every root has `versions.tf`, `variables.tf` (`endpoint_url`, so the same tree runs
//! against an emulator, and `account_id`), `providers.tf` (the provider assuming
//! `arn:aws:iam::<account_id>:role/<assume_role_name>` in the unit's region, with default
//! tags), `main.tf` (module calls by relative path, and `terraform_remote_state` for
//! what other roots produce) and `outputs.tf`. All but the bootstrap root have
//! `backend.tf`: S3 state in the bootstrap's bucket, key `<id>/terraform.tfstate`,
//! encrypted and locked. The bootstrap root keeps local state, since it creates the bucket.

use std::collections::BTreeMap;

use hcl::{Block, Body, Expression};

use super::modules::versions_tf;
use super::{call, obj, s, str_list, str_map, tr, var, Content, File, Paths};
use crate::layout::{Layout, Stack, Unit};
use crate::spec::{Role, Spec, StateLock, Trusted};

/// Depth of a root below the output root: `live/<account>/<region>/<stack>`.
const ROOT_DEPTH: usize = 4;

/// The files of every root.
pub(super) fn render(layout: &Layout, paths: &Paths) -> Vec<File> {
    let spec = &layout.spec;
    let mut files = Vec::new();
    for unit in &layout.units {
        let dir = format!("live/{}", unit.id);
        let mut add = |name: &str, body: Body| {
            files.push(File {
                path: format!("{dir}/{name}"),
                content: Content::Hcl(body),
            });
        };
        // S3 lock files need 1.10; the S3 backend's `endpoints` (remote state against
        // an emulator) need 1.6.
        let required = if spec.state_lock == StateLock::LockFile {
            ">= 1.10.0"
        } else {
            ">= 1.6.0"
        };
        add("versions.tf", versions_tf(spec, required));
        add("variables.tf", variables_tf(spec, unit));
        add("providers.tf", providers_tf(spec, unit));
        if unit.stack != Stack::Bootstrap {
            add("backend.tf", backend_tf(spec, unit));
        }
        let (main, outputs) = stack(layout, unit, paths);
        add("main.tf", main);
        add("outputs.tf", outputs);
    }
    files
}

fn variables_tf(spec: &Spec, unit: &Unit) -> Body {
    let account = &spec.accounts[&unit.account];
    let mut id = Block::builder("variable")
        .add_label("account_id")
        .add_attribute((
            "description",
            s(format!(
                "Id of the `{}` account, whose role `{}` this root assumes.",
                unit.account, spec.assume_role_name
            )),
        ))
        .add_attribute(("type", super::kw("string")));
    if let Some(account_id) = &account.id {
        id = id.add_attribute(("default", s(account_id.clone())));
    }
    let mut body = Body::builder();
    if unit.stack == Stack::LogArchive {
        let mgmt = spec
            .accounts
            .values()
            .find(|a| a.role == crate::spec::Role::Management)
            .expect("the spec has a management account");
        let mut v = Block::builder("variable")
            .add_label("management_account_id")
            .add_attribute((
                "description",
                s(format!(
                    "Id of the `{}` account, whose organization trail alone may write to the audit bucket.",
                    mgmt.name
                )),
            ))
            .add_attribute(("type", super::kw("string")));
        if let Some(id) = &mgmt.id {
            v = v.add_attribute(("default", s(id.clone())));
        }
        body = body.add_block(v.build());
    }
    let administers = unit.stack == Stack::Organization
        || (matches!(unit.stack, Stack::Baseline { .. })
            && unit.depends_on.iter().any(|d| d.ends_with("/organization")));
    if administers {
        body = body.add_block(
            Block::builder("variable")
                .add_label("members_joined")
                .add_attribute((
                    "description",
                    s("Whether the spec's accounts are members of the organization yet (invited or created): placement in OUs, delegation to the security account and its administration of the organization need it. The local emulator joins only accounts it creates itself, so the demo sets false."),
                ))
                .add_attribute(("type", super::kw("bool")))
                .add_attribute(("default", Expression::Bool(true)))
                .build(),
        );
    }
    if unit.stack == Stack::Bootstrap && spec.state_lock == StateLock::DynamoDb {
        body = body.add_block(
            Block::builder("variable")
                .add_label("protect_state")
                .add_attribute((
                    "description",
                    s("Deletion protection of the state lock table: set false (TF_VAR_protect_state=false) only to destroy the bootstrap root."),
                ))
                .add_attribute(("type", super::kw("bool")))
                .add_attribute(("default", Expression::Bool(true)))
                .build(),
        );
    }
    body
        .add_block(
            Block::builder("variable")
                .add_label("endpoint_url")
                .add_attribute((
                    "description",
                    s("One AWS endpoint for every service, e.g. http://127.0.0.1:5000 for moto; null for real AWS."),
                ))
                .add_attribute(("type", super::kw("string")))
                .add_attribute(("default", Expression::Null))
                .build(),
        )
        .add_block(id.build())
        .add_block(
            Block::builder("variable")
                .add_label("state_bucket")
                .add_attribute((
                    "description",
                    s("Bucket holding the other roots' state, read with terraform_remote_state (the backend's bucket; override together with -backend-config)."),
                ))
                .add_attribute(("type", super::kw("string")))
                .add_attribute(("default", s(spec.state_bucket.clone())))
                .build(),
        )
        .build()
}

fn providers_tf(spec: &Spec, unit: &Unit) -> Body {
    let account = &spec.accounts[&unit.account];
    let mut tags = spec.tags.clone();
    tags.extend(account.tags.clone());
    tags.insert("managed_by".into(), "bankplatform-gen".into());
    tags.insert("organization".into(), spec.organization.clone());
    tags.insert("account".into(), unit.account.clone());
    let role_arn = call(
        "format",
        vec![
            s("arn:aws:iam::%s:role/%s"),
            var("account_id"),
            s(spec.assume_role_name.clone()),
        ],
    );
    Body::builder()
        .add_block(
            Block::builder("provider")
                .add_label("bankplatform")
                .add_attribute(("region", s(unit.region.clone())))
                .add_attribute(("endpoint_url", var("endpoint_url")))
                .add_block(
                    Block::builder("assume_role")
                        .add_attribute(("role_arn", role_arn))
                        .add_attribute(("session_name", s("bankplatform-gen")))
                        .build(),
                )
                .add_block(
                    Block::builder("default_tags")
                        .add_attribute(("tags", str_map(&tags)))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn state_key(id: &str) -> String {
    format!("{id}/terraform.tfstate")
}

fn backend_tf(spec: &Spec, unit: &Unit) -> Body {
    let mut backend = Block::builder("backend")
        .add_label("s3")
        .add_attribute(("bucket", s(spec.state_bucket.clone())))
        .add_attribute(("key", s(state_key(&unit.id))))
        .add_attribute(("region", s(spec.state_region.clone())))
        .add_attribute(("encrypt", Expression::Bool(true)));
    match spec.state_lock {
        StateLock::LockFile => {
            backend = backend.add_attribute(("use_lockfile", Expression::Bool(true)));
        }
        StateLock::DynamoDb => {
            backend = backend.add_attribute(("dynamodb_table", s(spec.lock_table())));
        }
        StateLock::None => {}
    }
    Body::builder()
        .add_block(
            Block::builder("terraform")
                .add_block(backend.build())
                .build(),
        )
        .build()
}

/// `var.endpoint_url != null`: true when the tree runs against an emulator.
fn emulated() -> Expression {
    Expression::from(hcl::expr::BinaryOp::new(
        var("endpoint_url"),
        hcl::expr::BinaryOperator::NotEq,
        Expression::Null,
    ))
}

/// The id of every account of the spec that has one, as HCL strings.
fn account_ids(spec: &Spec) -> Vec<Expression> {
    spec.accounts
        .values()
        .filter_map(|a| a.id.clone())
        .map(s)
        .collect()
}

/// An output of the log-archive root, read through its remote state.
fn log_archive_output(name: &str) -> Expression {
    tr(&[
        "data",
        "terraform_remote_state",
        "log_archive",
        "outputs",
        name,
    ])
}

/// `data "terraform_remote_state" "<name>"` reading root `id`'s outputs.
fn remote_state(spec: &Spec, name: &str, id: &str) -> Block {
    Block::builder("data")
        .add_label("terraform_remote_state")
        .add_label(name)
        .add_attribute(("backend", s("s3")))
        .add_attribute((
            "config",
            obj([
                ("bucket", var("state_bucket")),
                ("key", s(state_key(id))),
                ("region", s(spec.state_region.clone())),
                (
                    "endpoints",
                    obj([("s3", var("endpoint_url")), ("sts", var("endpoint_url"))]),
                ),
                ("use_path_style", emulated()),
                // Against an emulator there is no real STS, account or
                // instance metadata to check.
                ("skip_credentials_validation", emulated()),
                ("skip_requesting_account_id", emulated()),
                ("skip_metadata_api_check", emulated()),
                ("skip_region_validation", emulated()),
            ]),
        ))
        .build()
}

/// The organization trail's name.
fn org_trail_name(spec: &Spec) -> String {
    format!("{}-organization", spec.organization)
}

/// The organization trail's ARN: in the management account, primary region. Its
/// account id is the root's `management_account_id` variable (the spec's id by default).
fn org_trail_arn(spec: &Spec) -> Expression {
    call(
        "format",
        vec![
            s("arn:aws:cloudtrail:%s:%s:trail/%s"),
            s(spec.primary_region.clone()),
            var("management_account_id"),
            s(org_trail_name(spec)),
        ],
    )
}

/// A bucket name prefix from parts, within the provider's 37-character limit.
fn bucket_prefix(parts: &[&str]) -> String {
    let mut p = parts.join("-");
    p.truncate(36);
    while p.ends_with('-') {
        p.pop();
    }
    p.push('-');
    p
}

fn module_call(name: &str, source: String, attrs: Vec<(&str, Expression)>) -> Block {
    let mut b = Block::builder("module")
        .add_label(name)
        .add_attribute(("source", s(source)));
    for (k, v) in attrs {
        b = b.add_attribute((k, v));
    }
    b.build()
}

fn output(name: &str, description: &str, value: Expression) -> Block {
    Block::builder("output")
        .add_label(name)
        .add_attribute(("description", s(description)))
        .add_attribute(("value", value))
        .build()
}

fn env_tags(spec: &Spec, env: &str, stack: &str) -> BTreeMap<String, String> {
    let mut tags = spec.environments[env].tags.clone();
    tags.insert("environment".into(), env.into());
    tags.insert(
        "dr_strategy".into(),
        spec.environments[env].dr_strategy.as_str().into(),
    );
    tags.insert("stack".into(), stack.into());
    tags
}

/// The bootstrap root: the state backend, and (when the spec names the CI project)
/// each account's deploy and plan roles, made from here into every account through the
/// provider's `target` (the pipelines cannot make the roles they assume).
fn bootstrap(
    layout: &Layout,
    paths: &Paths,
    mut main: hcl::BodyBuilder,
    mut outs: hcl::BodyBuilder,
) -> (hcl::BodyBuilder, hcl::BodyBuilder) {
    let spec = &layout.spec;
    let source = |m: &str| paths.module_source(ROOT_DEPTH, m);
    let p = &spec.pipelines;
    let tags = || str_map(&BTreeMap::from([("stack".into(), "bootstrap".into())]));
    // Accounts whose id the spec gives: the deploy roles need it.
    let mut with_ids: Vec<(&String, &String)> = spec
        .accounts
        .iter()
        .filter_map(|(name, a)| a.id.as_ref().map(|id| (name, id)))
        .collect();
    with_ids.sort_by_key(|(_, id)| *id);
    let role_arn = |id: Expression, role: &str| {
        call(
            "format",
            vec![s("arn:aws:iam::%s:role/%s"), id, s(role.to_string())],
        )
    };
    let mut state_args = vec![
        ("bucket", s(spec.state_bucket.clone())),
        ("region", s(spec.state_region.clone())),
    ];
    if p.trusted.is_some() {
        let mut admitted = vec![role_arn(var("account_id"), &spec.assume_role_name)];
        for (_, id) in &with_ids {
            for r in [
                p.deploy_role_name.clone(),
                format!("{}-plan", p.deploy_role_name),
            ] {
                admitted.push(s(format!("arn:aws:iam::{id}:role/{r}")));
            }
        }
        state_args.push((
            "account_ids",
            str_list(
                &with_ids
                    .iter()
                    .map(|(_, id)| id.as_str())
                    .collect::<Vec<_>>(),
            ),
        ));
        state_args.push(("admitted_role_arns", Expression::Array(admitted)));
    }
    if spec.state_lock == StateLock::DynamoDb {
        state_args.push(("lock_table", Expression::Bool(true)));
        state_args.push(("deletion_protection", var("protect_state")));
    }
    state_args.push(("tags", tags()));
    main = main.add_block(module_call(
        "state_backend",
        source("state_backend"),
        state_args,
    ));
    for (name, attr, desc) in [
        (
            "state_bucket",
            "bucket",
            "The state bucket every other root's backend uses.",
        ),
        ("state_bucket_arn", "arn", "The state bucket's ARN."),
        (
            "state_kms_key_arn",
            "kms_key_arn",
            "The KMS key encrypting the state.",
        ),
        (
            "state_lock_table_arn",
            "lock_table_arn",
            "The DynamoDB table locking the state, or null (S3 lock files).",
        ),
        (
            "state_compliance",
            "compliance",
            "The state bucket's controls, as read back from AWS.",
        ),
    ] {
        outs = outs.add_block(output(name, desc, tr(&["module", "state_backend", attr])));
    }
    if let Some(trusted) = &p.trusted {
        let (issuer, plan_subjects): (&str, Vec<String>) = match trusted {
            Trusted::GitHub(r) => (
                "https://token.actions.githubusercontent.com",
                vec![
                    format!("repo:{r}:pull_request"),
                    format!("repo:{r}:ref:refs/heads/main"),
                ],
            ),
            Trusted::GitLab(g) => (
                "https://gitlab.com",
                vec![format!("project_path:{g}:ref_type:branch:ref:*")],
            ),
        };
        let accounts = with_ids.iter().map(|(name, id)| {
            // GitHub puts a job's environment in its token: the apply jobs of an
            // account run in `production` (approval) or in the account's own.
            let apply = match trusted {
                Trusted::GitHub(r) => {
                    let env = if layout.protected_account(name) {
                        "production"
                    } else {
                        name.as_str()
                    };
                    format!("repo:{r}:environment:{env}")
                }
                Trusted::GitLab(g) => format!("project_path:{g}:ref_type:branch:ref:main"),
            };
            (
                name.to_string(),
                obj([
                    ("account_id", s(id.to_string())),
                    ("apply_subjects", str_list(&[apply])),
                    ("plan_subjects", str_list(&plan_subjects)),
                ]),
            )
        });
        let each = |attr: &str| tr(&["each", "value", attr]);
        main = main.add_block(module_call(
            "deploy_access",
            source("deploy_access"),
            vec![
                ("for_each", obj(accounts)),
                ("account_id", each("account_id")),
                ("assume_role_name", s(spec.assume_role_name.clone())),
                ("name", s(p.deploy_role_name.clone())),
                ("issuer_url", s(issuer)),
                ("apply_subjects", each("apply_subjects")),
                ("plan_subjects", each("plan_subjects")),
                ("state_bucket", tr(&["module", "state_backend", "bucket"])),
                (
                    "state_kms_key_arn",
                    tr(&["module", "state_backend", "kms_key_arn"]),
                ),
                (
                    "lock_table_arn",
                    tr(&["module", "state_backend", "lock_table_arn"]),
                ),
                ("tags", tags()),
            ],
        ));
        outs = outs.add_block(output(
            "deploy_access",
            "Each account's apply and plan roles (`apply_role_arn`, `plan_role_arn`) and their controls as read back from AWS (`apply_compliance`, `plan_compliance`).",
            tr(&["module", "deploy_access"]),
        ));
    }
    (main, outs)
}

/// `main.tf` and `outputs.tf` of one root.
fn stack(layout: &Layout, unit: &Unit, paths: &Paths) -> (Body, Body) {
    let spec = &layout.spec;
    let source = |m: &str| paths.module_source(ROOT_DEPTH, m);
    let org = spec.organization.as_str();
    let mut main = Body::builder();
    let mut outs = Body::builder();
    match &unit.stack {
        Stack::Bootstrap => {
            let (main_, outs_) = bootstrap(layout, paths, main, outs);
            main = main_;
            outs = outs_;
        }
        Stack::LogArchive => {
            let mut buckets = vec![
                ("audit", "audit"),
                ("config", "audit"),
                ("findings", "audit"),
                ("archive", "archive"),
            ];
            if spec.features.central_flow_logs {
                buckets.push(("flow_logs", "logs"));
            }
            for (name, purpose) in buckets {
                let tags = BTreeMap::from([
                    ("stack".to_string(), "log_archive".to_string()),
                    ("data_class".to_string(), name.to_string()),
                ]);
                let mut attrs = vec![
                    (
                        "bucket_prefix",
                        s(bucket_prefix(&[org, &name.replace('_', "-")])),
                    ),
                    ("purpose", s(purpose)),
                ];
                if name == "audit" {
                    // Only the organization trail may write, by its ARN.
                    attrs.push((
                        "delivery_sources",
                        obj([("cloudtrail", Expression::Array(vec![org_trail_arn(spec)]))]),
                    ));
                }
                if name == "config" || name == "findings" {
                    // Config (or GuardDuty) of every account of the spec, by account
                    // id: on the bucket policy and on the bucket's key.
                    let ids = account_ids(spec);
                    let service = if name == "config" {
                        "config"
                    } else {
                        "guardduty"
                    };
                    attrs.push(("delivery_sources", obj([(service, Expression::Array(ids))])));
                }
                attrs.push(("tags", str_map(&tags)));
                main = main.add_block(module_call(name, source("storage"), attrs));
                outs = outs
                    .add_block(output(
                        &format!("{name}_bucket"),
                        &format!("The {} bucket.", name.replace('_', " ")),
                        tr(&["module", name, "bucket"]),
                    ))
                    .add_block(output(
                        &format!("{name}_bucket_arn"),
                        &format!("The {} bucket's ARN.", name.replace('_', " ")),
                        tr(&["module", name, "arn"]),
                    ))
                    .add_block(output(
                        &format!("{name}_kms_key_arn"),
                        &format!(
                            "The {} bucket's KMS key (null for SSE-S3).",
                            name.replace('_', " ")
                        ),
                        tr(&["module", name, "kms_key_arn"]),
                    ));
            }
        }
        Stack::Audit => {
            let la = unit
                .depends_on
                .iter()
                .find(|d| d.ends_with("/log_archive"))
                .expect("the audit trail depends on the log archive");
            main = main.add_block(remote_state(spec, "log_archive", la));
            main = main.add_block(module_call(
                "trail",
                source("audit_trail"),
                vec![
                    ("name", s(org_trail_name(spec))),
                    ("s3_bucket_name", log_archive_output("audit_bucket")),
                    ("is_organization_trail", Expression::Bool(true)),
                    (
                        "tags",
                        str_map(&BTreeMap::from([(
                            "stack".to_string(),
                            "audit".to_string(),
                        )])),
                    ),
                ],
            ));
            for (name, attr, desc) in [
                ("trail_arn", "arn", "The organization trail's ARN."),
                (
                    "alarm_topic_arn",
                    "alarm_topic_arn",
                    "The topic every CIS alarm notifies.",
                ),
                (
                    "compliance",
                    "compliance",
                    "Trail controls, as read back from AWS.",
                ),
            ] {
                outs = outs.add_block(output(name, desc, tr(&["module", "trail", attr])));
            }
        }
        Stack::Organization => {
            let regions: Vec<Expression> = std::iter::once(&spec.primary_region)
                .chain(spec.secondary_region.iter())
                .map(|r| s(r.clone()))
                .collect();
            // The operator's role, and the pipelines' apply role, may still change the
            // baseline; nobody else in a member account.
            let mut exempt = vec![s(spec.assume_role_name.clone())];
            if spec.pipelines.trusted.is_some() {
                exempt.push(s(spec.pipelines.deploy_role_name.clone()));
            }
            // Each account with an id in the OU its role and environment say.
            let placed: Vec<(String, String)> =
                spec.accounts
                    .values()
                    .filter_map(|a| {
                        let ou = match a.role {
                            Role::Management => return None,
                            Role::Security | Role::LogArchive => "Security",
                            Role::SharedServices => "Infrastructure",
                            Role::Workload
                                if layout.protected_account(&a.name)
                                    || spec.environments.values().any(|e| {
                                        e.account == a.name && e.name.starts_with("prod")
                                    }) =>
                            {
                                "Workloads/Prod"
                            }
                            Role::Workload => "Workloads/NonProd",
                        };
                        Some((a.id.clone()?, ou.to_string()))
                    })
                    .collect();
            let mut attrs = vec![
                ("name", s(org.to_string())),
                ("allowed_regions", Expression::Array(regions)),
                ("exempt_role_names", Expression::Array(exempt)),
                ("members_joined", tr(&["var", "members_joined"])),
                ("accounts", str_map(&placed.into_iter().collect())),
            ];
            if let Some(id) = spec
                .account_with_role(Role::Security)
                .and_then(|a| a.id.clone())
            {
                attrs.push(("security_account_id", s(id)));
            }
            attrs.push((
                "tags",
                str_map(&BTreeMap::from([(
                    "stack".to_string(),
                    "organization".to_string(),
                )])),
            ));
            main = main.add_block(module_call("organization", source("organization"), attrs));
            for (name, attr, desc) in [
                ("organization_id", "id", "The organization id."),
                (
                    "organizational_unit_ids",
                    "organizational_unit_ids",
                    "OU path to OU id.",
                ),
                (
                    "compliance",
                    "compliance",
                    "The organization's controls, as read back from AWS.",
                ),
            ] {
                outs = outs.add_block(output(name, desc, tr(&["module", "organization", attr])));
            }
        }
        Stack::Security => {
            // The whole organization (accounts joining later included), in every
            // region, present and future: the security account is Config's delegated
            // administrator (the organization root runs first). That is what an
            // auditor asks for (Prowler's config_delegated_admin_and_org_aggregator_all_regions);
            // regions the guardrails deny simply have no recorder to collect from.
            main = main.add_block(module_call(
                "config_aggregator",
                source("config_aggregator"),
                vec![
                    ("name", s(org.to_string())),
                    ("organization", Expression::Bool(true)),
                ],
            ));
            outs = outs.add_block(output(
                "config_aggregator_compliance",
                "The aggregator's controls, as read back from AWS.",
                tr(&["module", "config_aggregator", "compliance"]),
            ));
            // The topic security alarms and findings of every account go to.
            main = main.add_block(module_call(
                "alarm_topic",
                source("alarm_topic"),
                vec![
                    ("name", s(format!("{org}-security-alarms"))),
                    ("source_accounts", Expression::Array(account_ids(spec))),
                ],
            ));
            for (name, attr, desc) in [
                (
                    "alarm_topic_arn",
                    "arn",
                    "The topic security alarms and findings go to.",
                ),
                (
                    "alarm_topic_compliance",
                    "compliance",
                    "The alarm topic's controls, as read back from AWS.",
                ),
            ] {
                outs = outs.add_block(output(name, desc, tr(&["module", "alarm_topic", attr])));
            }
        }
        Stack::Baseline { account_wide } => {
            if let Some(la) = unit.depends_on.iter().find(|d| d.ends_with("/log_archive")) {
                main = main.add_block(remote_state(spec, "log_archive", la));
                main = main.add_block(module_call(
                    "config",
                    source("config_recorder"),
                    vec![
                        ("s3_bucket_name", log_archive_output("config_bucket")),
                        ("s3_key_prefix", s(format!("config/{}", unit.account))),
                        // Snapshots encrypted with the Config bucket's key, which
                        // admits Config of every account of the spec.
                        ("kms_key_arn", log_archive_output("config_kms_key_arn")),
                        (
                            "include_global_resource_types",
                            Expression::Bool(*account_wide),
                        ),
                    ]
                    .into_iter()
                    // The security account's aggregator may collect this recorder's data.
                    .chain(
                        spec.account_with_role(Role::Security)
                            .and_then(|a| a.id.clone())
                            .into_iter()
                            .flat_map(|id| {
                                [
                                    ("aggregator_account_id", s(id)),
                                    ("aggregator_region", s(spec.primary_region.clone())),
                                ]
                            }),
                    )
                    .collect(),
                ));
                outs = outs.add_block(output(
                    "config_compliance",
                    "Config controls, as read back from AWS.",
                    tr(&["module", "config", "compliance"]),
                ));
            }
            main = main.add_block(module_call(
                "baseline",
                source("account_baseline"),
                vec![
                    ("account_wide", Expression::Bool(*account_wide)),
                    (
                        "tags",
                        str_map(&BTreeMap::from([(
                            "stack".to_string(),
                            "baseline".to_string(),
                        )])),
                    ),
                ],
            ));
            for (name, desc) in [
                ("ebs_kms_key_arn", "The EBS default key."),
                ("compliance", "Baseline controls, as read back from AWS."),
            ] {
                outs = outs.add_block(output(name, desc, tr(&["module", "baseline", name])));
            }
            // GuardDuty and Security Hub in every account and region, findings
            // exported to the log archive's findings bucket with its key.
            let mut td = vec![(
                "tags",
                str_map(&BTreeMap::from([(
                    "stack".to_string(),
                    "baseline".to_string(),
                )])),
            )];
            if unit.depends_on.iter().any(|d| d.ends_with("/organization")) {
                // The security account's home region: the organization's administrator.
                td.push(("organization_admin", tr(&["var", "members_joined"])));
            }
            if unit.depends_on.iter().any(|d| d.ends_with("/log_archive")) {
                td.push((
                    "findings_bucket_arn",
                    log_archive_output("findings_bucket_arn"),
                ));
                td.push((
                    "findings_kms_key_arn",
                    log_archive_output("findings_kms_key_arn"),
                ));
            }
            main = main.add_block(module_call(
                "threat_detection",
                source("threat_detection"),
                td,
            ));
            outs = outs.add_block(output(
                "threat_detection_compliance",
                "GuardDuty and Security Hub controls, as read back from AWS.",
                tr(&["module", "threat_detection", "compliance"]),
            ));
        }
        Stack::Network {
            environment,
            secondary,
            cidr,
            az_count,
            nat_gateway_strategy,
        } => {
            let mut attrs = vec![
                ("name", s(format!("{org}-{environment}-{}", unit.region))),
                ("cidr_block", s(cidr.to_string())),
                ("az_count", Expression::from(u64::from(*az_count))),
                ("nat_gateway_strategy", s(nat_gateway_strategy.clone())),
                (
                    "gateway_endpoints",
                    if spec.features.gateway_endpoints {
                        str_list(&["s3", "dynamodb"])
                    } else {
                        Expression::Array(vec![])
                    },
                ),
                (
                    "flow_logs_retention_days",
                    Expression::from(u64::from(spec.flow_logs_retention_days)),
                ),
            ];
            // A VPC smaller than /16 gets subnets sized to it (a /16 keeps the
            // provider's defaults, so existing networks never renumber).
            if cidr.prefix_len() > 16 {
                for (tier, len) in crate::spec::tier_prefixes(cidr.prefix_len()) {
                    let key = match tier {
                        "public" => "public_subnet_prefix",
                        "private" => "private_subnet_prefix",
                        _ => "restricted_subnet_prefix",
                    };
                    attrs.push((key, Expression::from(u64::from(len))));
                }
            }
            if spec.features.central_flow_logs {
                let la = unit
                    .depends_on
                    .iter()
                    .find(|d| d.ends_with("/log_archive"))
                    .expect("central flow logs depend on the log archive");
                main = main.add_block(remote_state(spec, "log_archive", la));
                attrs.push((
                    "flow_logs_s3_bucket_arn",
                    log_archive_output("flow_logs_bucket_arn"),
                ));
            }
            let stack_tag = if *secondary { "network-dr" } else { "network" };
            attrs.push(("tags", str_map(&env_tags(spec, environment, stack_tag))));
            main = main.add_block(module_call("network", source("network"), attrs));
            for (name, desc) in [
                ("vpc_id", "The VPC id."),
                ("subnet_ids", "Subnet ids by tier, then availability zone."),
                ("compliance", "Network controls, as read back from AWS."),
            ] {
                outs = outs.add_block(output(name, desc, tr(&["module", "network", name])));
            }
        }
        Stack::Storage {
            environment,
            replica_region,
        } => {
            let mut attrs = vec![
                (
                    "bucket_prefix",
                    s(bucket_prefix(&[org, environment, "txn"])),
                ),
                ("purpose", s("transaction")),
            ];
            if let Some(r) = replica_region {
                attrs.push(("replica_region", s(r.clone())));
            }
            attrs.push(("tags", str_map(&env_tags(spec, environment, "storage"))));
            main = main.add_block(module_call("transactions", source("storage"), attrs));
            for (name, attr, desc) in [
                ("transactions_bucket", "bucket", "The transaction bucket."),
                (
                    "transactions_bucket_arn",
                    "arn",
                    "The transaction bucket's ARN.",
                ),
                (
                    "transactions_replica_bucket",
                    "replica_bucket",
                    "The replica in the secondary region, or null.",
                ),
                (
                    "transactions_compliance",
                    "compliance",
                    "Bucket controls, as read back from AWS.",
                ),
            ] {
                outs = outs.add_block(output(name, desc, tr(&["module", "transactions", attr])));
            }
        }
    }
    (main.build(), outs.build())
}
