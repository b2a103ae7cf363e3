//! The reusable modules under `modules/`: `network` (wraps `bankplatform_hardened_vpc`),
//! `storage` (wraps `bankplatform_compliant_bucket`, with an optional replica in another
//! region), `state_backend` (the state's key, bucket and lock table), `deploy_access`
//! (an account's pipeline roles) and one per security-baseline composite.
//!
//! Each module is described once as a [`Module`] (variables, resources, outputs), and
//! `variables.tf`, `main.tf`, `outputs.tf`, `versions.tf` and `README.md` all come from
//! that description, so the README never disagrees with the code.

use hcl::{Attribute, Block, Body, Expression};

use super::{
    call, if_null, kw, parsed, parsed_expr, s, tr, var, Content, File, HEADER, MODULES_PREFIX,
};
use crate::spec::Spec;

/// A module variable.
struct Var {
    name: &'static str,
    ty: Expression,
    ty_text: &'static str,
    description: &'static str,
    default: Option<Expression>,
    default_text: &'static str,
}

/// A module output.
struct Output {
    name: &'static str,
    description: &'static str,
    value: Expression,
}

/// One module, from which every file of it is rendered.
struct Module {
    name: &'static str,
    summary: &'static str,
    vars: Vec<Var>,
    main: Body,
    outputs: Vec<Output>,
}

fn required(
    name: &'static str,
    ty: Expression,
    ty_text: &'static str,
    description: &'static str,
) -> Var {
    Var {
        name,
        ty,
        ty_text,
        description,
        default: None,
        default_text: "",
    }
}

fn optional(
    name: &'static str,
    ty: Expression,
    ty_text: &'static str,
    description: &'static str,
    default: Expression,
    default_text: &'static str,
) -> Var {
    Var {
        name,
        ty,
        ty_text,
        description,
        default: Some(default),
        default_text,
    }
}

fn map_string() -> Expression {
    call("map", vec![kw("string")])
}

fn list_string() -> Expression {
    call("list", vec![kw("string")])
}

/// Every module's files, paths prefixed with [`MODULES_PREFIX`].
pub(super) fn render(spec: &Spec) -> Vec<File> {
    let mut files = Vec::new();
    for m in [
        network(),
        storage(),
        state_backend(),
        deploy_access(),
        audit_trail(),
        account_baseline(),
        config_recorder(),
        config_aggregator(),
        threat_detection(),
        alarm_topic(),
        organization(),
    ] {
        let dir = format!("{MODULES_PREFIX}{}", m.name);
        files.push(File {
            path: format!("{dir}/variables.tf"),
            content: Content::Hcl(variables_tf(&m)),
        });
        files.push(File {
            path: format!("{dir}/main.tf"),
            content: Content::Hcl(m.main.clone()),
        });
        files.push(File {
            path: format!("{dir}/outputs.tf"),
            content: Content::Hcl(outputs_tf(&m)),
        });
        files.push(File {
            path: format!("{dir}/versions.tf"),
            content: Content::Hcl(versions_tf(spec, ">= 1.3.0")),
        });
        files.push(File {
            path: format!("{dir}/README.md"),
            content: Content::Text(readme(&m, spec)),
        });
    }
    files.push(File {
        path: format!("{MODULES_PREFIX}README.md"),
        content: Content::Text(index_readme()),
    });
    files
}

/// `terraform { required_version, required_providers }`, shared with the live roots.
pub(super) fn versions_tf(spec: &Spec, required_version: &str) -> Body {
    Body::builder()
        .add_block(
            Block::builder("terraform")
                .add_attribute(("required_version", s(required_version)))
                .add_block(
                    Block::builder("required_providers")
                        .add_attribute((
                            "bankplatform",
                            super::obj([
                                ("source", s(spec.provider_source.clone())),
                                ("version", s(spec.provider_version.clone())),
                            ]),
                        ))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn variables_tf(m: &Module) -> Body {
    let mut body = Body::builder();
    for v in &m.vars {
        let mut b = Block::builder("variable")
            .add_label(v.name)
            .add_attribute(("description", s(v.description)))
            .add_attribute(("type", v.ty.clone()));
        if let Some(d) = &v.default {
            b = b.add_attribute(("default", d.clone()));
        }
        body = body.add_block(b.build());
    }
    body.build()
}

fn outputs_tf(m: &Module) -> Body {
    let mut body = Body::builder();
    for o in &m.outputs {
        body = body.add_block(
            Block::builder("output")
                .add_label(o.name)
                .add_attribute(("description", s(o.description)))
                .add_attribute(("value", o.value.clone()))
                .build(),
        );
    }
    body.build()
}

fn readme(m: &Module, spec: &Spec) -> String {
    let mut out = format!(
        "<!-- {HEADER} -->\n\n# Module `{}`\n\n{}\n\n",
        m.name, m.summary
    );
    out.push_str(&format!(
        "Requires Terraform >= 1.3.0 and the provider `{}` (`{}`).\n\n",
        spec.provider_source, spec.provider_version
    ));
    out.push_str("## Variables\n\n| name | type | default | description |\n|---|---|---|---|\n");
    for v in &m.vars {
        let default = if v.default.is_some() {
            format!("`{}`", v.default_text)
        } else {
            "required".to_string()
        };
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            v.name, v.ty_text, default, v.description
        ));
    }
    out.push_str("\n## Outputs\n\n| name | description |\n|---|---|\n");
    for o in &m.outputs {
        out.push_str(&format!("| `{}` | {} |\n", o.name, o.description));
    }
    out
}

fn index_readme() -> String {
    format!(
        "<!-- {HEADER} -->\n\n# modules/\n\n\
         Reusable Terraform modules written by `bankplatform-gen` (see `hcl-gen/README.md`)\n\
         from the example spec `examples/platform/platform.hcl`. Do not edit them by hand:\n\
         change the generator and run\n\n\
         ```sh\n\
         cargo run -p bankplatform-gen -- generate --spec examples/platform/platform.hcl \\\n  \
         --out examples/platform --modules-dir modules\n\
         ```\n\n\
         CI runs the same command with `check` and fails when these files are stale.\n\n\
         | module | wraps | what it makes |\n|---|---|---|\n\
         | [`network`](network/) | `bankplatform_hardened_vpc` | a 3-tier VPC (public, private, restricted) with flow logs and gateway endpoints |\n\
         | [`storage`](storage/) | `bankplatform_compliant_bucket` | a compliant bucket, optionally replicated to a bucket in another region |\n\
         | [`state_backend`](state_backend/) | `bankplatform_kms_key`, `bankplatform_compliant_bucket`, `bankplatform_dynamodb_table` | every root's Terraform state: its key, the bucket only the deploy roles reach, the lock table for Terraform before 1.10 |\n\
         | [`deploy_access`](deploy_access/) | `bankplatform_deploy_role` | one account's apply and plan roles, assumed by the pipelines through OIDC |\n\
         | [`audit_trail`](audit_trail/) | `bankplatform_audit_trail` | a multi-Region (organization) trail with its key, log group and CIS alarms |\n\
         | [`account_baseline`](account_baseline/) | `bankplatform_account_baseline` | an account's password policy, EBS encryption, S3 account block and Access Analyzer in one region |\n\
         | [`config_recorder`](config_recorder/) | `bankplatform_config_recorder` | AWS Config recording everything, delivering to the log archive, with the bank-baseline rules |\n\
         | [`config_aggregator`](config_aggregator/) | `bankplatform_config_aggregator` | the security account's Config aggregator over the whole organization, in every region |\n\
         | [`threat_detection`](threat_detection/) | `bankplatform_threat_detection` | GuardDuty with every protection and Security Hub with the FSBP, CIS and PCI standards |\n\
         | [`organization`](organization/) | `bankplatform_organization` | the management account's organization: OUs, guardrail SCPs, the security account as delegated administrator, accounts placed in OUs |\n\
         | [`alarm_topic`](alarm_topic/) | `bankplatform_alarm_topic` | the security account's KMS-encrypted alarm topic, publishable by EventBridge and alarms of every account of the spec |\n"
    )
}

fn network() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_hardened_vpc")
        .add_label("this")
        .add_attribute(("name", var("name")))
        .add_attribute(("cidr_block", var("cidr_block")))
        .add_attribute(("az_count", var("az_count")))
        .add_attribute(("nat_gateway_strategy", var("nat_gateway_strategy")))
        .add_attribute(("gateway_endpoints", var("gateway_endpoints")))
        .add_attribute(("tags", var("tags")))
        .add_block(
            Block::builder("tier_prefix_lengths")
                .add_attribute(("public", var("public_subnet_prefix")))
                .add_attribute(("private", var("private_subnet_prefix")))
                .add_attribute(("restricted", var("restricted_subnet_prefix")))
                .build(),
        )
        .add_block(
            Block::builder("flow_logs")
                .add_attribute(("retention_days", var("flow_logs_retention_days")))
                .add_attribute(("s3_bucket_arn", var("flow_logs_s3_bucket_arn")))
                .build(),
        )
        .add_block(dynamic(
            "transit_gateway_attachment",
            "transit_gateway_id",
            vec![
                Attribute::new(
                    "transit_gateway_id",
                    tr(&["transit_gateway_attachment", "value"]),
                ),
                Attribute::new("subnets_tier", s("private")),
            ],
        ))
        .build();
    let out = |name: &'static str, description: &'static str| Output {
        name,
        description,
        value: tr(&["bankplatform_hardened_vpc", "this", name]),
    };
    Module {
        name: "network",
        summary: "One environment's VPC in one region: public, private and restricted subnets in each availability zone, NAT gateways, S3 and DynamoDB gateway endpoints, flow logs, and an optional Transit Gateway attachment (`bankplatform_hardened_vpc`).",
        vars: vec![
            required("name", kw("string"), "string", "Name of the VPC, also its `Name` tag."),
            required("cidr_block", kw("string"), "string", "IPv4 CIDR of the VPC, e.g. `10.0.0.0/16`."),
            optional("az_count", kw("number"), "number", "Number of availability zones.", Expression::from(3), "3"),
            optional("nat_gateway_strategy", kw("string"), "string", "NAT gateways: `one_per_az`, `single` or `none`.", s("one_per_az"), "\"one_per_az\""),
            optional("gateway_endpoints", list_string(), "list(string)", "Gateway endpoints to create, e.g. `[\"s3\", \"dynamodb\"]`.", Expression::Array(vec![s("s3"), s("dynamodb")]), "[\"s3\", \"dynamodb\"]"),
            optional("flow_logs_retention_days", kw("number"), "number", "Retention of the flow logs, in days.", Expression::from(365), "365"),
            optional("flow_logs_s3_bucket_arn", kw("string"), "string", "Bucket receiving the flow logs (the log-archive account's); CloudWatch Logs when null.", Expression::Null, "null"),
            optional("transit_gateway_id", kw("string"), "string", "Transit Gateway to attach the private subnets to; none when null.", Expression::Null, "null"),
            optional("public_subnet_prefix", kw("number"), "number", "Prefix length of the public subnets; /24 when null (sized for a /16 VPC).", Expression::Null, "null"),
            optional("private_subnet_prefix", kw("number"), "number", "Prefix length of the private subnets; /20 when null.", Expression::Null, "null"),
            optional("restricted_subnet_prefix", kw("number"), "number", "Prefix length of the restricted subnets; /24 when null.", Expression::Null, "null"),
            optional("tags", map_string(), "map(string)", "Tags on every resource.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            out("vpc_id", "The VPC id."),
            out("subnet_ids", "Subnet ids by tier, then availability zone."),
            out("route_table_ids", "Route table ids."),
            out("nat_gateway_ids", "NAT gateway ids."),
            out("flow_log_id", "The flow log id."),
            out("compliance", "Control id to whether it holds, as read back from AWS."),
        ],
    }
}

/// `dynamic "<name>" { for_each = var.<v> == null ? [] : [var.<v>]  content { ... } }`.
fn dynamic(name: &str, variable: &str, content: Vec<Attribute>) -> Block {
    Block::builder("dynamic")
        .add_label(name)
        .add_attribute((
            "for_each",
            if_null(
                var(variable),
                Expression::Array(vec![]),
                Expression::Array(vec![var(variable)]),
            ),
        ))
        .add_block(Block::builder("content").add_attributes(content).build())
        .build()
}

fn storage() -> Module {
    let replica = |attr: &str| {
        let t = hcl::expr::Traversal::builder(hcl::expr::Variable::unchecked(
            "bankplatform_compliant_bucket",
        ))
        .attr("replica")
        .index(0u64)
        .attr(hcl::Identifier::unchecked(attr))
        .build();
        Expression::from(t)
    };
    let primary = Block::builder("resource")
        .add_label("bankplatform_compliant_bucket")
        .add_label("this")
        .add_attribute(("bucket_prefix", var("bucket_prefix")))
        .add_attribute(("purpose", var("purpose")))
        .add_attribute(("force_destroy", var("force_destroy")))
        .add_attribute(("policy_statements", var("policy_statements")))
        .add_attribute(("delivery_sources", var("delivery_sources")))
        .add_attribute(("tags", var("tags")))
        .add_block(dynamic(
            "replication",
            "replica_region",
            vec![
                Attribute::new("destination_bucket_arn", replica("arn")),
                Attribute::new("destination_kms_key_arn", replica("kms_key_arn")),
            ],
        ))
        .build();
    let replica_block = Block::builder("resource")
        .add_label("bankplatform_compliant_bucket")
        .add_label("replica")
        .add_attribute((
            "count",
            if_null(
                var("replica_region"),
                Expression::from(0),
                Expression::from(1),
            ),
        ))
        .add_attribute(("bucket_prefix", var("bucket_prefix")))
        .add_attribute(("purpose", var("purpose")))
        .add_attribute(("force_destroy", var("force_destroy")))
        .add_attribute(("tags", var("tags")))
        .add_block(
            Block::builder("target")
                .add_attribute(("region", var("replica_region")))
                .build(),
        )
        .build();
    let this = |attr: &str| tr(&["bankplatform_compliant_bucket", "this", attr]);
    let splat = |attr: &str| {
        let t = hcl::expr::Traversal::builder(hcl::expr::Variable::unchecked(
            "bankplatform_compliant_bucket",
        ))
        .attr("replica")
        .full_splat()
        .attr(hcl::Identifier::unchecked(attr))
        .build();
        call("one", vec![Expression::from(t)])
    };
    Module {
        name: "storage",
        summary: "A compliant S3 bucket (`bankplatform_compliant_bucket`: SSE-KMS with a rotating key, versioning, object lock, public access blocked, TLS only, lifecycle tiers) and, when `replica_region` is set, a second one in that region receiving every object by cross-region replication.",
        vars: vec![
            required("bucket_prefix", kw("string"), "string", "Prefix of the generated bucket names (at most 37 characters)."),
            optional("purpose", kw("string"), "string", "What the bucket holds: `transaction`, `archive`, `audit` or `logs`; chooses the object lock and encryption defaults.", s("transaction"), "\"transaction\""),
            optional("replica_region", kw("string"), "string", "Region of the replica bucket; no replica when null.", Expression::Null, "null"),
            optional("force_destroy", kw("bool"), "bool", "Delete every object version when the bucket is destroyed.", Expression::Bool(false), "false"),
            optional("policy_statements", kw("string"), "string", "Extra bucket policy statements as a JSON array.", Expression::Null, "null"),
            optional("delivery_sources", call("map", vec![list_string()]), "map(list(string))", "Services delivering into the bucket and the sources each is admitted for, e.g. `{ cloudtrail = [<trail ARN>] }`.", Expression::Null, "null"),
            optional("tags", map_string(), "map(string)", "Tags on the buckets.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(primary).add_block(replica_block).build(),
        outputs: vec![
            Output { name: "bucket", description: "The bucket name.", value: this("bucket") },
            Output { name: "arn", description: "The bucket ARN.", value: this("arn") },
            Output { name: "kms_key_arn", description: "The bucket's KMS key.", value: this("kms_key_arn") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
            Output { name: "replica_bucket", description: "The replica bucket's name, or null.", value: splat("bucket") },
            Output { name: "replica_arn", description: "The replica bucket's ARN, or null.", value: splat("arn") },
        ],
    }
}

fn state_backend() -> Module {
    let main = parsed(
        r#"
resource "bankplatform_kms_key" "state" {
  name    = "${var.bucket}-state"
  purpose = "s3"
  # The admitted roles of every account may use the key, through S3 only.
  policy_statements = length(var.admitted_role_arns) > 0 ? jsonencode([{
    Sid       = "StateRoles"
    Effect    = "Allow"
    Principal = { AWS = [for a in var.account_ids : "arn:aws:iam::${a}:root"] }
    Action    = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    Resource  = "*"
    Condition = {
      ArnLike      = { "aws:PrincipalArn" = var.admitted_role_arns }
      StringEquals = { "kms:ViaService" = "s3.${var.region}.amazonaws.com" }
    }
  }]) : null
  tags = var.tags
}

resource "bankplatform_compliant_bucket" "state" {
  bucket        = var.bucket
  purpose       = "transaction"
  kms_key_arn   = bankplatform_kms_key.state.arn
  force_destroy = false
  # State objects: only the admitted roles (the deploy and plan roles, and the
  # operator's role in this account) may read or write them.
  policy_statements = length(var.admitted_role_arns) > 0 ? jsonencode([
    {
      Sid       = "StateOnlyForAdmittedRoles"
      Effect    = "Deny"
      Principal = "*"
      Action    = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource  = "arn:aws:s3:::${var.bucket}/*"
      Condition = { ArnNotLike = { "aws:PrincipalArn" = var.admitted_role_arns } }
    },
    {
      Sid       = "StateForAdmittedRoles"
      Effect    = "Allow"
      Principal = { AWS = [for a in var.account_ids : "arn:aws:iam::${a}:root"] }
      Action    = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource  = ["arn:aws:s3:::${var.bucket}", "arn:aws:s3:::${var.bucket}/*"]
      Condition = { ArnLike = { "aws:PrincipalArn" = var.admitted_role_arns } }
    },
  ]) : null
  tags = var.tags
}

resource "bankplatform_dynamodb_table" "lock" {
  count               = var.lock_table ? 1 : 0
  name                = "${var.bucket}-lock"
  hash_key            = "LockID"
  deletion_protection = var.deletion_protection
  tags                = var.tags
}
"#,
    );
    let this = |attr: &str| tr(&["bankplatform_compliant_bucket", "state", attr]);
    Module {
        name: "state_backend",
        summary: "The Terraform state of every root: a customer-managed key (`bankplatform_kms_key`), the bucket (`bankplatform_compliant_bucket`, purpose `transaction`: SSE-KMS with that key, versioning, object lock, never force-destroyed) whose objects only the admitted roles may read and write, and, for Terraform before 1.10, the DynamoDB lock table (`bankplatform_dynamodb_table`: point-in-time recovery, deletion protection).",
        vars: vec![
            required("bucket", kw("string"), "string", "Name of the state bucket."),
            required("region", kw("string"), "string", "The bucket's region (S3 is the only service the key admits the roles through)."),
            optional("account_ids", list_string(), "list(string)", "Accounts whose admitted roles reach the state.", super::str_list::<&str>(&[]), "[]"),
            optional("admitted_role_arns", list_string(), "list(string)", "Roles (ARN patterns) that alone may read and write state objects: the deploy and plan roles, and the operator's role. Any principal may when empty.", super::str_list::<&str>(&[]), "[]"),
            optional("lock_table", kw("bool"), "bool", "Make the DynamoDB lock table `<bucket>-lock` (Terraform before 1.10).", Expression::Bool(false), "false"),
            optional("deletion_protection", kw("bool"), "bool", "Deletion protection of the lock table.", Expression::Bool(true), "true"),
            optional("tags", map_string(), "map(string)", "Tags on everything.", super::obj::<&str>([]), "{}"),
        ],
        main,
        outputs: vec![
            Output { name: "bucket", description: "The state bucket's name.", value: this("bucket") },
            Output { name: "arn", description: "The state bucket's ARN.", value: this("arn") },
            Output { name: "kms_key_arn", description: "The KMS key encrypting the state.", value: tr(&["bankplatform_kms_key", "state", "arn"]) },
            Output { name: "lock_table_arn", description: "The lock table's ARN, or null.", value: parsed_expr("one(bankplatform_dynamodb_table.lock[*].arn)") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn deploy_access() -> Module {
    let main = parsed(
        r#"
resource "bankplatform_deploy_role" "apply" {
  name              = var.name
  issuer_url        = var.issuer_url
  subjects          = var.apply_subjects
  state_bucket      = var.state_bucket
  state_kms_key_arn = var.state_kms_key_arn
  lock_table_arn    = var.lock_table_arn
  tags              = var.tags

  target {
    assume_role_arn = "arn:aws:iam::${var.account_id}:role/${var.assume_role_name}"
  }
}

resource "bankplatform_deploy_role" "plan" {
  name              = "${var.name}-plan"
  access            = "plan"
  issuer_url        = var.issuer_url
  subjects          = var.plan_subjects
  state_bucket      = var.state_bucket
  state_kms_key_arn = var.state_kms_key_arn
  lock_table_arn    = var.lock_table_arn
  tags              = var.tags

  target {
    assume_role_arn = "arn:aws:iam::${var.account_id}:role/${var.assume_role_name}"
  }

  # The apply role makes the account's identity provider: first in, last out.
  depends_on = [bankplatform_deploy_role.apply]
}
"#,
    );
    let role = |r: &str, attr: &str| tr(&["bankplatform_deploy_role", r, attr]);
    Module {
        name: "deploy_access",
        summary: "What a pipeline assumes in one account through OIDC (`bankplatform_deploy_role` twice): the apply role, trusted for the main branch or protected environments, and its plan-only twin `<name>-plan`, trusted for pull requests and the drift check; both reach the state and its lock. Made from the bootstrap root into each account (the provider's `target`).",
        vars: vec![
            required("account_id", kw("string"), "string", "The account the roles are made in."),
            optional("assume_role_name", kw("string"), "string", "Role assumed to reach the account.", s("OrganizationAccountAccessRole"), "\"OrganizationAccountAccessRole\""),
            optional("name", kw("string"), "string", "The apply role's name; the plan role is `<name>-plan`.", s("bankplatform-deploy"), "\"bankplatform-deploy\""),
            optional("issuer_url", kw("string"), "string", "The CI's OIDC issuer.", s("https://token.actions.githubusercontent.com"), "\"https://token.actions.githubusercontent.com\""),
            required("apply_subjects", list_string(), "list(string)", "Token subjects that may apply."),
            required("plan_subjects", list_string(), "list(string)", "Token subjects that may plan."),
            optional("state_bucket", kw("string"), "string", "The state bucket.", Expression::Null, "null"),
            optional("state_kms_key_arn", kw("string"), "string", "The state's key.", Expression::Null, "null"),
            optional("lock_table_arn", kw("string"), "string", "The state's lock table, if any.", Expression::Null, "null"),
            optional("tags", map_string(), "map(string)", "Tags on the roles.", super::obj::<&str>([]), "{}"),
        ],
        main,
        outputs: vec![
            Output { name: "apply_role_arn", description: "The apply role's ARN.", value: role("apply", "arn") },
            Output { name: "plan_role_arn", description: "The plan role's ARN.", value: role("plan", "arn") },
            Output { name: "apply_compliance", description: "The apply role's controls, as read back from AWS.", value: role("apply", "compliance") },
            Output { name: "plan_compliance", description: "The plan role's controls, as read back from AWS.", value: role("plan", "compliance") },
        ],
    }
}

fn audit_trail() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_audit_trail")
        .add_label("this")
        .add_attribute(("name", var("name")))
        .add_attribute(("s3_bucket_name", var("s3_bucket_name")))
        .add_attribute(("is_organization_trail", var("is_organization_trail")))
        .add_attribute(("log_retention_days", var("log_retention_days")))
        .add_attribute(("alarm_topic_arn", var("alarm_topic_arn")))
        .add_attribute(("tags", var("tags")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_audit_trail", "this", attr]);
    Module {
        name: "audit_trail",
        summary: "A multi-Region CloudTrail trail (`bankplatform_audit_trail`): an organization trail when run in the management account, log file validation, SSE-KMS, management and S3 data events, a year of encrypted CloudWatch Logs, and a metric filter with an alarm for every CIS 5.x event set.",
        vars: vec![
            required("name", kw("string"), "string", "Trail name."),
            required("s3_bucket_name", kw("string"), "string", "The audit bucket the log files go to (the log archive's)."),
            optional("is_organization_trail", kw("bool"), "bool", "Log every account of the organization.", Expression::Bool(false), "false"),
            optional("log_retention_days", kw("number"), "number", "Days the log group keeps events (365 or more).", Expression::from(365), "365"),
            optional("alarm_topic_arn", kw("string"), "string", "Topic the alarms notify; the trail makes an encrypted one when null.", Expression::Null, "null"),
            optional("tags", map_string(), "map(string)", "Tags on every resource.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "arn", description: "The trail's ARN.", value: this("arn") },
            Output { name: "kms_key_arn", description: "The key encrypting log files, log group and alarm topic.", value: this("kms_key_arn") },
            Output { name: "alarm_topic_arn", description: "The topic every CIS alarm notifies.", value: this("alarm_topic_arn") },
            Output { name: "log_group_name", description: "The CloudWatch Logs group the trail delivers to.", value: this("log_group_name") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn account_baseline() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_account_baseline")
        .add_label("this")
        .add_attribute(("account_wide", var("account_wide")))
        .add_attribute(("tags", var("tags")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_account_baseline", "this", attr]);
    Module {
        name: "account_baseline",
        summary: "One account's baseline in one region (`bankplatform_account_baseline`): the IAM password policy and the S3 account public access block (account-wide, from the home region), EBS encryption by default with a customer-managed key and an IAM Access Analyzer (every region), and the root-key check.",
        vars: vec![
            optional("account_wide", kw("bool"), "bool", "Own the account-wide settings: true in the account's home region only.", Expression::Bool(true), "true"),
            optional("tags", map_string(), "map(string)", "Tags on what the baseline creates.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "ebs_kms_key_arn", description: "The EBS default key.", value: this("ebs_kms_key_arn") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn config_recorder() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_config_recorder")
        .add_label("this")
        .add_attribute(("s3_bucket_name", var("s3_bucket_name")))
        .add_attribute(("s3_key_prefix", var("s3_key_prefix")))
        .add_attribute(("kms_key_arn", var("kms_key_arn")))
        .add_attribute((
            "include_global_resource_types",
            var("include_global_resource_types"),
        ))
        .add_attribute(("rules", var("rules")))
        .add_attribute(("aggregator_account_id", var("aggregator_account_id")))
        .add_attribute(("aggregator_region", var("aggregator_region")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_config_recorder", "this", attr]);
    Module {
        name: "config_recorder",
        summary: "AWS Config in one account and region (`bankplatform_config_recorder`): every supported resource type recorded (global ones in the home region only), delivery to the log archive's Config bucket, recording started, and the bank-baseline pack of managed rules.",
        vars: vec![
            required("s3_bucket_name", kw("string"), "string", "The log archive's Config bucket."),
            optional("s3_key_prefix", kw("string"), "string", "Key prefix of the snapshots.", Expression::Null, "null"),
            optional("kms_key_arn", kw("string"), "string", "Key the snapshots are encrypted with (the log archive's Config bucket key); unencrypted delivery when null.", Expression::Null, "null"),
            optional("include_global_resource_types", kw("bool"), "bool", "Record global types: true in the account's home region only.", Expression::Bool(true), "true"),
            optional("rules", kw("string"), "string", "`bank-baseline` or `none`.", s("bank-baseline"), "\"bank-baseline\""),
            optional("aggregator_account_id", kw("string"), "string", "The security account, whose aggregator may collect this recorder's data; none when null.", Expression::Null, "null"),
            optional("aggregator_region", kw("string"), "string", "The region of that aggregator.", Expression::Null, "null"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "rule_identifiers", description: "The managed rules deployed.", value: this("rule_identifiers") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn config_aggregator() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_config_aggregator")
        .add_label("this")
        .add_attribute(("name", var("name")))
        .add_attribute(("organization", var("organization")))
        .add_attribute(("account_ids", var("account_ids")))
        .add_attribute(("regions", var("regions")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_config_aggregator", "this", attr]);
    Module {
        name: "config_aggregator",
        summary: "The security account's view of AWS Config (`bankplatform_config_aggregator`): one aggregator collecting the whole organization (as Config's delegated administrator, which the `organization` module makes it) or the listed accounts (each account's recorder authorizes it: `aggregator_account_id` of the `config_recorder` module), in every region or the listed ones.",
        vars: vec![
            optional("name", kw("string"), "string", "Aggregator name.", s("platform"), "\"platform\""),
            optional("organization", kw("bool"), "bool", "Collect from every account of the organization, present and future (run in Config's delegated administrator); false collects from `account_ids`.", Expression::Bool(false), "false"),
            optional("account_ids", list_string(), "list(string)", "Accounts collected from, when not `organization`.", Expression::Null, "null"),
            optional("regions", list_string(), "list(string)", "Regions collected from; every region, present and future, when null.", Expression::Null, "null"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn organization() -> Module {
    // Placement and delegation need the accounts to be members: until they are
    // (invited or created), `members_joined = false` leaves both out.
    let joined = |v: &str| {
        Expression::from(hcl::expr::Conditional::new(
            var("members_joined"),
            var(v),
            Expression::Null,
        ))
    };
    let resource = Block::builder("resource")
        .add_label("bankplatform_organization")
        .add_label("this")
        .add_attribute(("name", var("name")))
        .add_attribute(("allowed_regions", var("allowed_regions")))
        .add_attribute(("exempt_role_names", var("exempt_role_names")))
        .add_attribute(("security_account_id", joined("security_account_id")))
        .add_attribute(("accounts", joined("accounts")))
        .add_attribute(("tags", var("tags")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_organization", "this", attr]);
    Module {
        name: "organization",
        summary: "The management account's organization (`bankplatform_organization`): all features, OUs by environment and sensitivity, the guardrail SCPs on the root (the security baseline cannot be turned off, no root user, no leaving, allowed Regions only; the listed roles excepted), trusted access and delegated administration of GuardDuty, Security Hub, Config and Access Analyzer to the security account, and the spec's accounts placed in their OUs.",
        vars: vec![
            optional("name", kw("string"), "string", "Names the guardrail policies.", s("bankplatform"), "\"bankplatform\""),
            required("allowed_regions", list_string(), "list(string)", "Regions member accounts may act in (global services excepted)."),
            required("exempt_role_names", list_string(), "list(string)", "Roles the baseline and Region guardrails let through: the deploy role and the operator's role."),
            optional("security_account_id", kw("string"), "string", "The delegated administrator of the security services.", Expression::Null, "null"),
            optional("accounts", map_string(), "map(string)", "Account id to OU path.", Expression::Null, "null"),
            optional("members_joined", kw("bool"), "bool", "Whether the accounts are members yet (invited or created); false leaves placement and delegation out.", Expression::Bool(true), "true"),
            optional("tags", map_string(), "map(string)", "Tags on the root, the OUs and the policies.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "id", description: "The organization id.", value: this("id") },
            Output { name: "organizational_unit_ids", description: "OU path to OU id.", value: this("organizational_unit_ids") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn alarm_topic() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_alarm_topic")
        .add_label("this")
        .add_attribute(("name", var("name")))
        .add_attribute(("publishers", var("publishers")))
        .add_attribute(("source_accounts", var("source_accounts")))
        .add_attribute(("subscriptions", var("subscriptions")))
        .add_attribute(("tags", var("tags")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_alarm_topic", "this", attr]);
    Module {
        name: "alarm_topic",
        summary: "The security account's alarm topic (`bankplatform_alarm_topic`): KMS-encrypted with a key made for it, publishable only by the listed services for the listed accounts and only over TLS; findings and alarms of every account are routed to it.",
        vars: vec![
            optional("name", kw("string"), "string", "Topic name.", s("security-alarms"), "\"security-alarms\""),
            optional("publishers", list_string(), "list(string)", "Services that may publish; CloudWatch alarms and EventBridge rules when null.", Expression::Null, "null"),
            required("source_accounts", list_string(), "list(string)", "Accounts whose services may publish."),
            optional(
                "subscriptions",
                call(
                    "list",
                    vec![call(
                        "object",
                        vec![super::obj([("protocol", kw("string")), ("endpoint", kw("string"))])],
                    )],
                ),
                "list(object({ protocol = string, endpoint = string }))",
                "Who is notified (email, https, sqs, lambda).",
                Expression::Null,
                "null",
            ),
            optional("tags", map_string(), "map(string)", "Tags on the topic.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "arn", description: "The topic ARN.", value: this("arn") },
            Output { name: "kms_key_arn", description: "The topic's key.", value: this("kms_key_arn") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}

fn threat_detection() -> Module {
    let resource = Block::builder("resource")
        .add_label("bankplatform_threat_detection")
        .add_label("this")
        .add_attribute(("findings_bucket_arn", var("findings_bucket_arn")))
        .add_attribute(("findings_kms_key_arn", var("findings_kms_key_arn")))
        .add_attribute(("organization_admin", var("organization_admin")))
        .add_attribute(("tags", var("tags")))
        .build();
    let this = |attr: &str| tr(&["bankplatform_threat_detection", "this", attr]);
    Module {
        name: "threat_detection",
        summary: "Threat detection in one account and region (`bankplatform_threat_detection`): a GuardDuty detector with S3, RDS, runtime and EBS malware protection publishing every 15 minutes, and Security Hub with consolidated findings and the FSBP, CIS and PCI DSS standards.",
        vars: vec![
            optional("findings_bucket_arn", kw("string"), "string", "Bucket findings are exported to; none when null.", Expression::Null, "null"),
            optional("findings_kms_key_arn", kw("string"), "string", "Key exported findings are encrypted with.", Expression::Null, "null"),
            optional("organization_admin", kw("bool"), "bool", "Administer the organization (the delegated security account): GuardDuty and Security Hub in every member.", Expression::Bool(false), "false"),
            optional("tags", map_string(), "map(string)", "Tags on the detector.", super::obj::<&str>([]), "{}"),
        ],
        main: Body::builder().add_block(resource).build(),
        outputs: vec![
            Output { name: "detector_id", description: "The GuardDuty detector id.", value: this("id") },
            Output { name: "compliance", description: "Control id to whether it holds, as read back from AWS.", value: this("compliance") },
        ],
    }
}
