//! The files at the top of the tree: `live/manifest.json` (the roots in apply order),
//! `live/apply.sh` (runs `live/Makefile`) and `README.md` (what is where).

use serde::Serialize;

use super::{Content, File, Paths, HEADER};
use crate::layout::{Layout, Stack};

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "_generated")]
    generated: &'static str,
    organization: &'a str,
    state_bucket: &'a str,
    state_region: &'a str,
    roots: Vec<Root<'a>>,
}

#[derive(Serialize)]
struct Root<'a> {
    id: &'a str,
    path: String,
    account: &'a str,
    account_id: Option<&'a str>,
    region: &'a str,
    stack: &'static str,
    environment: Option<&'a str>,
    backend: &'static str,
    depends_on: &'a [String],
    /// Module directories it calls, relative to the output root.
    modules: Vec<String>,
    /// Its wave in the CI pipelines (1-based; null for the bootstrap root, which CI
    /// does not run): the GitHub workflow reads large matrices from here.
    ci_wave: Option<usize>,
    /// The environment its CI applies run in (`production` asks for an approval).
    approval_environment: String,
}

/// The manifest, the apply script and the README.
pub(super) fn render(layout: &Layout, paths: &Paths) -> Vec<File> {
    vec![
        File {
            path: "live/manifest.json".into(),
            content: Content::Text(manifest(layout, paths)),
        },
        File {
            path: "live/apply.sh".into(),
            content: Content::Text(apply_sh(layout)),
        },
        File {
            path: "README.md".into(),
            content: Content::Text(readme(layout, paths)),
        },
    ]
}

fn manifest(layout: &Layout, paths: &Paths) -> String {
    let spec = &layout.spec;
    let wave_of = super::pipelines::ci_wave_of(layout);
    let m = Manifest {
        generated: HEADER,
        organization: &spec.organization,
        state_bucket: &spec.state_bucket,
        state_region: &spec.state_region,
        roots: layout
            .units
            .iter()
            .map(|u| Root {
                id: &u.id,
                path: format!("live/{}", u.id),
                account: &u.account,
                account_id: spec.accounts[&u.account].id.as_deref(),
                region: &u.region,
                stack: u.stack.dir_name(),
                environment: u.stack.environment(),
                backend: if u.stack == Stack::Bootstrap {
                    "local"
                } else {
                    "s3"
                },
                depends_on: &u.depends_on,
                modules: super::pipelines::module_dirs(u, paths),
                ci_wave: wave_of.get(u.id.as_str()).copied(),
                approval_environment: super::pipelines::approval_environment(layout, u),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&m).expect("the manifest serialises");
    text.push('\n');
    text
}

fn apply_sh(layout: &Layout) -> String {
    if !layout.spec.pipelines.makefile {
        return format!(
            "#!/usr/bin/env bash\n# {HEADER}\n#\n# The spec turned the Makefile off (pipelines {{ makefile = false }}): apply the roots\n# in the order of manifest.json, or with the pipeline engine the spec emits.\necho 'no live/Makefile: see manifest.json for the apply order' >&2\nexit 1\n"
        );
    }
    format!(
        r#"#!/usr/bin/env bash
# {HEADER}
#
# Applies every root in dependency waves, in parallel, through live/Makefile:
#   live/apply.sh                      make -j$JOBS apply (JOBS defaults to 4)
#   live/apply.sh apply/<id> ...       those roots and everything they depend on
#   live/apply.sh drift | destroy      plan -detailed-exitcode everywhere | destroy all
# TERRAFORM, INIT_ARGS, BACKEND_ARGS, APPLY_ARGS, PLAN_ARGS, DESTROY_ARGS pass through.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$#" -eq 0 ]; then set -- apply; fi
exec make --no-print-directory -j"${{JOBS:-4}}" "$@"
"#
    )
}

fn readme(layout: &Layout, paths: &Paths) -> String {
    let spec = &layout.spec;
    let mut out = format!(
        "<!-- {HEADER} -->\n\n# {org}: the generated Terraform tree\n\n\
         Written by `bankplatform-gen` from one spec; edit the spec and run\n\
         `bankplatform-gen generate` again rather than editing these files (each carries a\n\
         header saying so; files without it are yours and are never overwritten or deleted).\n\n\
         - `{modules}/`: reusable modules (`network`, `storage`, `state_backend`), each with its README.\n\
         - `live/<account>/<region>/<stack>/`: one Terraform root per account, region and stack.\n  \
         Each assumes `{role}` in its account, keeps its state in\n  \
         `s3://{bucket}/<id>/terraform.tfstate` (encrypted{lock}),\n  \
         and reads other roots' outputs with `terraform_remote_state`.\n\
         - `live/manifest.json`: the roots in apply order, with their dependencies.\n\
         - `live/Makefile` (and `live/apply.sh`, which runs it): `make -C live -j4 apply` applies\n  \
         every root in dependency waves, in parallel; `make -C live apply/<id>` one root and what\n  \
         it depends on; `drift` and `destroy` too.\n\
         - Pipelines from the same graph (as the spec's `pipelines {{ }}` selects):\n  \
         `.github/workflows/bankplatform.yml`, `.gitlab-ci.yml`, `atlantis.yaml`, and Terramate's\n  \
         `terramate.tm.hcl` with a `stack.tm.hcl` in every root. They assume this directory is\n  \
         the repository root, and assume `{deploy}` in each account through OIDC.\n\n\
         The bootstrap root creates the state bucket and keeps its own state locally; apply it first.\n\
         Every root takes `endpoint_url` (for an emulator such as moto) and `account_id`.\n\n\
         ## Roots, in apply order\n\n\
         | # | root | account | region | stack | depends on |\n|---|---|---|---|---|---|\n",
        org = spec.organization,
        modules = paths.modules_rel(),
        role = spec.assume_role_name,
        bucket = spec.state_bucket,
        lock = match spec.state_lock {
            crate::spec::StateLock::LockFile => ", locked with S3 native locking".to_string(),
            crate::spec::StateLock::DynamoDb => format!(", locked in the DynamoDB table `{}`", spec.lock_table()),
            crate::spec::StateLock::None => String::new(),
        },
        deploy = spec.pipelines.deploy_role_name,
    );
    for (i, u) in layout.units.iter().enumerate() {
        let what = match &u.stack {
            Stack::Network {
                environment,
                secondary,
                cidr,
                ..
            } => format!(
                "network `{environment}`{} {cidr}",
                if *secondary { " (DR)" } else { "" }
            ),
            Stack::Storage {
                environment,
                replica_region,
            } => format!(
                "storage `{environment}`{}",
                replica_region
                    .as_ref()
                    .map(|r| format!(" → {r}"))
                    .unwrap_or_default()
            ),
            other => other.dir_name().to_string(),
        };
        let deps = if u.depends_on.is_empty() {
            "–".to_string()
        } else {
            u.depends_on
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | [`{}`](live/{}/) | {} | {} | {} | {} |\n",
            i + 1,
            u.id,
            u.id,
            u.account,
            u.region,
            what,
            deps
        ));
    }
    out.push_str("\n## Environments\n\n| environment | account | DR strategy | primary | secondary |\n|---|---|---|---|---|\n");
    for e in spec.environments.values() {
        out.push_str(&format!(
            "| {} | {} | {} | {} {} | {} |\n",
            e.name,
            e.account,
            e.dr_strategy.as_str(),
            e.region,
            e.cidr,
            match (
                &e.secondary_region,
                e.secondary_cidr,
                e.dr_strategy.needs_secondary()
            ) {
                (Some(r), Some(c), true) => format!("{r} {c}"),
                (Some(r), Some(c), false) => format!("backups only ({r}; {c} reserved)"),
                _ => "–".into(),
            }
        ));
    }
    out
}
