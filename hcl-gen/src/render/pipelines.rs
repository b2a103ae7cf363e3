//! The tree on the engines banks run Terraform with, all from the same dependency graph
//! ([`Layout::waves`], `depends_on`), each switched in the spec's `pipelines { }`:
//!
//! - `live/Makefile`: the local runner. A target per root whose prerequisites are the
//!   roots it depends on, so `make -j4 apply` applies wave by wave in parallel;
//!   `destroy` runs the graph backwards; `drift` plans every root with
//!   `-detailed-exitcode`. `live/apply.sh` wraps it.
//! - `.github/workflows/bankplatform.yml`: a security scan (Trivy, failing on HIGH and
//!   CRITICAL), a plan of every root a pull request changes (its files or its modules'),
//!   posted on the pull request; on the default branch, an apply job per wave whose
//!   matrix runs that wave's roots in parallel, each `needs` the wave before, with OIDC
//!   role assumption into the root's account, the `production` environment (manual
//!   approval) for protected accounts, and a concurrency group per root; a scheduled
//!   drift job. Matrices hold at most 256 jobs (GitHub's limit), so a wider wave is
//!   split into parts that all run before the next wave.
//! - `.gitlab-ci.yml`: the same shape with `needs:` on each root's dependencies and a
//!   `resource_group` per root; protected roots are manual.
//! - `atlantis.yaml` (version 3): a project per root with `depends_on`, an
//!   `execution_order_group` (its wave), autoplan when the root or its modules change,
//!   and `approved`/`mergeable` apply requirements for protected roots.
//! - Terramate: `stack.tm.hcl` in every root (id, tags, `after` its dependencies) and
//!   `terramate.tm.hcl` at the top, so `terramate run` orders and parallelizes the tree.
//!
//! The CI engines (GitHub, GitLab, Atlantis) leave out the bootstrap root: it keeps local
//! state and is applied once by hand before any pipeline runs. Make and Terramate,
//! which run on an engineer's machine, include it.

use serde_json::{json, Map, Value};

use super::{Content, File, Paths, HEADER};
use crate::layout::{Layout, Stack, Unit};
use crate::yaml;

/// GitHub's limit on jobs in one matrix.
pub const MAX_MATRIX: usize = 256;
/// GitHub starts no run of a workflow file over 500 KB: past this budget the matrices
/// are read from `live/manifest.json` at run time instead of written out.
pub const GITHUB_WORKFLOW_BUDGET: usize = 400 * 1024;
/// GitLab refuses a CI file over 1 MB (its default `max_yaml_size_bytes`): past this
/// budget the per-root jobs go into files of `ci/gitlab/` the top file includes (150
/// includes at most, GitLab's default).
pub const GITLAB_FILE_BUDGET: usize = 900 * 1024;
/// The pinned Trivy version the pipelines scan with.
const TRIVY_VERSION: &str = "0.58.1";

/// Every pipeline file the spec asks for.
pub(super) fn render(layout: &Layout, paths: &Paths) -> Vec<File> {
    let p = &layout.spec.pipelines;
    let mut files = Vec::new();
    if p.makefile {
        files.push(File {
            path: "live/Makefile".into(),
            content: Content::Text(makefile(layout)),
        });
    }
    if p.github_actions {
        files.push(File {
            path: ".github/workflows/bankplatform.yml".into(),
            content: Content::Text(github_actions(layout, paths)),
        });
    }
    if p.gitlab_ci {
        files.extend(gitlab_ci(layout, paths));
    }
    if p.atlantis {
        files.push(File {
            path: "atlantis.yaml".into(),
            content: Content::Text(atlantis(layout, paths)),
        });
    }
    if p.terramate {
        files.push(File {
            path: "terramate.tm.hcl".into(),
            content: Content::Hcl(terramate_root()),
        });
        for u in &layout.units {
            files.push(File {
                path: format!("live/{}/stack.tm.hcl", u.id),
                content: Content::Hcl(terramate_stack(layout, u)),
            });
        }
    }
    files
}

/// The module directories (relative to the output root) a root's plan depends on.
pub fn module_dirs(u: &Unit, paths: &Paths) -> Vec<String> {
    u.stack
        .modules()
        .iter()
        .map(|m| format!("{}/{m}", paths.modules_rel()))
        .collect()
}

/// The roots the CI engines (GitHub, GitLab, Atlantis) run: all but the bootstrap root,
/// which keeps local state and is applied once, by hand, before any pipeline can run
/// (it creates the state bucket every other root's state lives in).
fn ci_units(layout: &Layout) -> Vec<&Unit> {
    layout
        .units
        .iter()
        .filter(|u| u.stack != Stack::Bootstrap)
        .collect()
}

/// `u`'s dependencies that CI runs (the bootstrap root is applied beforehand).
fn ci_deps<'a>(layout: &Layout, u: &'a Unit) -> Vec<&'a String> {
    u.depends_on
        .iter()
        .filter(|d| layout.unit(d).is_some_and(|d| d.stack != Stack::Bootstrap))
        .collect()
}

/// The CI wave (1-based) of every root CI runs.
pub(crate) fn ci_wave_of(layout: &Layout) -> std::collections::BTreeMap<&str, usize> {
    ci_waves(layout)
        .iter()
        .enumerate()
        .flat_map(|(w, us)| us.iter().map(move |u| (u.id.as_str(), w + 1)))
        .collect()
}

/// The GitHub (and GitLab) environment a root's applies run in: `production` (an
/// approval) for protected accounts, else the account's own.
pub(crate) fn approval_environment(layout: &Layout, u: &Unit) -> String {
    if layout.protected(u) {
        "production".to_string()
    } else {
        u.account.clone()
    }
}

/// [`Layout::waves`] without the bootstrap root, empty waves dropped.
fn ci_waves(layout: &Layout) -> Vec<Vec<&Unit>> {
    layout
        .waves()
        .into_iter()
        .map(|w| {
            w.into_iter()
                .filter(|u| u.stack != Stack::Bootstrap)
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn yaml_file(comment: &str, v: &Value) -> String {
    format!("# {HEADER}\n# {comment}\n{}", yaml::to_string(v))
}

// ---------------------------------------------------------------------------------------
// Make.

fn makefile(layout: &Layout) -> String {
    let mut out = format!(
        "# {HEADER}\n\
         #\n\
         # The local runner: one target per root, prerequisites from the dependency graph.\n\
         #   make -j4 apply                 every root, wave by wave, in parallel\n\
         #   make -j4 apply/<id>            one root and everything it depends on\n\
         #   make -j4 drift                 plan -detailed-exitcode everywhere (2 = drift)\n\
         #   make -j4 destroy               every root, dependents first\n\
         #   make plan/<id>                 one root's plan\n\
         # TERRAFORM (default terraform), INIT_ARGS, BACKEND_ARGS (init of S3-backed roots,\n\
         # e.g. -backend-config=FILE), APPLY_ARGS, PLAN_ARGS, DESTROY_ARGS pass through.\n\
         # The bootstrap root keeps local state: it creates the bucket the others use.\n\n\
         TERRAFORM ?= terraform\n\
         INIT_ARGS ?=\n\
         BACKEND_ARGS ?=\n\
         APPLY_ARGS ?=\n\
         PLAN_ARGS ?=\n\
         DESTROY_ARGS ?=\n\
         MAKEFLAGS += --output-sync=target\n\n\
         ROOTS := \\\n"
    );
    let n = layout.units.len();
    for (i, u) in layout.units.iter().enumerate() {
        out.push_str(&format!(
            "  {}{}\n",
            u.id,
            if i + 1 < n { " \\" } else { "" }
        ));
    }
    out.push_str(
        "\n.PHONY: apply plan drift destroy $(addprefix apply/,$(ROOTS)) $(addprefix plan/,$(ROOTS)) \\\n  \
         $(addprefix drift/,$(ROOTS)) $(addprefix destroy/,$(ROOTS)) $(addprefix init/,$(ROOTS))\n\n\
         apply: $(addprefix apply/,$(ROOTS))\n\
         plan: $(addprefix plan/,$(ROOTS))\n\
         drift: $(addprefix drift/,$(ROOTS))\n\
         destroy: $(addprefix destroy/,$(ROOTS))\n",
    );
    let dependents = layout.dependents();
    for (wave, units) in layout.waves().iter().enumerate() {
        out.push_str(&format!("\n# Wave {}.\n", wave + 1));
        for u in units {
            let backend = if u.stack == crate::layout::Stack::Bootstrap {
                ""
            } else {
                " $(BACKEND_ARGS)"
            };
            let deps: String = u.depends_on.iter().map(|d| format!(" apply/{d}")).collect();
            let dependents: String = dependents
                .get(u.id.as_str())
                .into_iter()
                .flatten()
                .map(|o| format!(" destroy/{}", o.id))
                .collect();
            let id = &u.id;
            out.push_str(&format!(
                "init/{id}:\n\
                 \t$(TERRAFORM) -chdir={id} init -input=false $(INIT_ARGS){backend}\n\
                 apply/{id}:{deps}\n\
                 \t@$(MAKE) --no-print-directory init/{id}\n\
                 \t$(TERRAFORM) -chdir={id} apply -input=false -auto-approve $(APPLY_ARGS)\n\
                 plan/{id}: init/{id}\n\
                 \t$(TERRAFORM) -chdir={id} plan -input=false $(PLAN_ARGS)\n\
                 drift/{id}: init/{id}\n\
                 \t$(TERRAFORM) -chdir={id} plan -input=false -detailed-exitcode $(PLAN_ARGS)\n\
                 destroy/{id}:{dependents}\n\
                 \t@$(MAKE) --no-print-directory init/{id}\n\
                 \t$(TERRAFORM) -chdir={id} destroy -input=false -auto-approve $(DESTROY_ARGS)\n"
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// GitHub Actions.

/// Which of an account's two roles a job assumes: the apply role, or its plan-only
/// twin `<deploy_role_name>-plan` (pull-request plans and drift checks).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Apply,
    Plan,
}

fn role_name(p: &crate::spec::Pipelines, access: Access) -> String {
    match access {
        Access::Apply => p.deploy_role_name.clone(),
        Access::Plan => format!("{}-plan", p.deploy_role_name),
    }
}

fn role_arn_expr(p: &crate::spec::Pipelines, account_expr: &str, access: Access) -> String {
    format!(
        "arn:aws:iam::${{{{ {account_expr} }}}}:role/{}",
        role_name(p, access)
    )
}

fn gh_matrix_entry(layout: &Layout, u: &Unit) -> Value {
    let spec = &layout.spec;
    json!({
        "root": u.id,
        "account_id": spec.accounts[&u.account].id.clone().unwrap_or_default(),
        "region": u.region,
        "environment": approval_environment(layout, u),
    })
}

/// The events on which the apply waves run.
const APPLY_EVENTS: &str =
    "github.event_name == 'push' || github.event_name == 'workflow_dispatch'";

/// A matrix of `units`: written out (`inline`), or read at run time from
/// `live/manifest.json` by the job `{name}-roots`, which this returns too (a workflow
/// that lists thousands of roots would pass GitHub's 500 KB limit).
fn gh_matrix(
    layout: &Layout,
    units: &[&Unit],
    inline: bool,
    name: &str,
    (select, from, to): (&str, usize, usize),
) -> (Value, Option<Value>) {
    if inline {
        let include: Vec<Value> = units.iter().map(|u| gh_matrix_entry(layout, u)).collect();
        return (json!({"include": include}), None);
    }
    let job = json!({
        "name": format!("roots of {name}"),
        "runs-on": "ubuntu-latest",
        "outputs": {"include": "${{ steps.pick.outputs.include }}"},
        "steps": [
            {"uses": "actions/checkout@v4"},
            {
                "id": "pick",
                "run": format!(
                    "include=\"$(jq -c '[.roots[] | select({select})] | .[{from}:{to}] | map({{root: .id, account_id, region, environment: .approval_environment}})' live/manifest.json)\"\n\
                     echo \"include=$include\" >> \"$GITHUB_OUTPUT\"\n"
                ),
            },
        ],
    });
    (
        json!({"include": format!("${{{{ fromJSON(needs.{name}-roots.outputs.include) }}}}")}),
        Some(job),
    )
}

fn gh_terraform_steps(layout: &Layout, access: Access, extra: Vec<Value>) -> Vec<Value> {
    let p = &layout.spec.pipelines;
    let mut steps = vec![
        json!({"uses": "actions/checkout@v4"}),
        json!({
            "name": "Assume the deploy role in the root's account (OIDC)",
            "uses": "aws-actions/configure-aws-credentials@v4",
            "with": {
                "role-to-assume": role_arn_expr(p, "matrix.account_id", access),
                "aws-region": "${{ matrix.region }}",
            },
        }),
        json!({
            "uses": "hashicorp/setup-terraform@v3",
            "with": {"terraform_version": p.terraform_version, "terraform_wrapper": false},
        }),
        json!({
            "name": "terraform init",
            "env": {"ROOT": "${{ matrix.root }}"},
            "run": "terraform -chdir=\"live/$ROOT\" init -input=false\n",
        }),
    ];
    steps.extend(extra);
    steps
}

/// The workflow, its matrices written out while the file stays within GitHub's limit
/// (measured, not estimated), else read from the manifest at run time.
fn github_actions(layout: &Layout, paths: &Paths) -> String {
    let inline = github_workflow(layout, paths, true);
    if inline.len() <= GITHUB_WORKFLOW_BUDGET {
        inline
    } else {
        github_workflow(layout, paths, false)
    }
}

fn github_workflow(layout: &Layout, paths: &Paths, inline: bool) -> String {
    let spec = &layout.spec;
    let modules = paths.modules_rel();
    let watched = json!(["live/**", format!("{modules}/**")]);
    let mut jobs = Map::new();
    jobs.insert(
        "scan".into(),
        json!({
            "name": "Security scan (Trivy, fails on HIGH and CRITICAL)",
            "runs-on": "ubuntu-latest",
            "steps": [
                {"uses": "actions/checkout@v4"},
                {
                    "uses": "aquasecurity/trivy-action@0.29.0",
                    "with": {
                        "scan-type": "config",
                        "scan-ref": ".",
                        "version": format!("v{TRIVY_VERSION}"),
                        "severity": "HIGH,CRITICAL",
                        "exit-code": "1",
                    },
                },
            ],
        }),
    );
    jobs.insert(
        "changes".into(),
        json!({
            "name": "Roots this pull request changes",
            "if": "github.event_name == 'pull_request'",
            "runs-on": "ubuntu-latest",
            "outputs": {"roots": "${{ steps.pick.outputs.roots }}"},
            "steps": [
                {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}},
                {
                    "id": "pick",
                    "env": {"BASE_REF": "${{ github.base_ref }}"},
                    "run": "git diff --name-only \"origin/$BASE_REF...HEAD\" > changed.txt\n\
                            # A root changes with its own files or with a module it calls.\n\
                            roots=\"$(jq -c --rawfile changed changed.txt '\n  \
                              ($changed | split(\"\\n\") | map(select(. != \"\"))) as $files\n  \
                              | [.roots[] | select(. as $r | $files | any(. as $f\n      \
                              | ($f | startswith($r.path + \"/\"))\n      \
                              or ($r.modules | any(. as $m | $f | startswith($m + \"/\")))))\n    \
                              | {root: .id, account_id, region}]' live/manifest.json)\"\n\
                            echo \"roots=$roots\" >> \"$GITHUB_OUTPUT\"\n",
                },
            ],
        }),
    );
    jobs.insert(
        "plan".into(),
        json!({
            "name": "plan ${{ matrix.root }}",
            "needs": ["scan", "changes"],
            "if": "github.event_name == 'pull_request' && needs.changes.outputs.roots != '[]'",
            "runs-on": "ubuntu-latest",
            "permissions": {"contents": "read", "id-token": "write", "pull-requests": "write"},
            "strategy": {
                "fail-fast": false,
                "max-parallel": 20,
                "matrix": {"include": "${{ fromJSON(needs.changes.outputs.roots) }}"},
            },
            "steps": gh_terraform_steps(layout, Access::Plan, vec![
                json!({
                    "name": "terraform plan",
                    "env": {"ROOT": "${{ matrix.root }}"},
                    "run": "terraform -chdir=\"live/$ROOT\" plan -input=false -no-color -out=tfplan | tee plan.txt\n",
                }),
                json!({
                    "name": "Post the plan on the pull request",
                    "env": {
                        "GH_TOKEN": "${{ github.token }}",
                        "ROOT": "${{ matrix.root }}",
                        "PR": "${{ github.event.pull_request.number }}",
                    },
                    "run": "{ echo \"### \\`terraform plan\\` of \\`$ROOT\\`\"; echo; echo '```'; tail -c 60000 plan.txt; echo '```'; } > comment.md\n\
                            gh pr comment \"$PR\" --body-file comment.md\n",
                }),
            ]),
        }),
    );
    let mut previous: Vec<String> = vec!["scan".into()];
    for (w, units) in ci_waves(layout).iter().enumerate() {
        let parts: Vec<&[&Unit]> = units.chunks(MAX_MATRIX).collect();
        let mut names = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let name = if parts.len() == 1 {
                format!("apply-wave-{}", w + 1)
            } else {
                format!("apply-wave-{}-part-{}", w + 1, i + 1)
            };
            let select = format!(".ci_wave == {}", w + 1);
            let range = (select.as_str(), i * MAX_MATRIX, (i + 1) * MAX_MATRIX);
            let (matrix, roots_job) = gh_matrix(layout, part, inline, &name, range);
            let mut needs = previous.clone();
            if let Some(mut job) = roots_job {
                job["if"] = json!(APPLY_EVENTS);
                jobs.insert(format!("{name}-roots"), job);
                needs.push(format!("{name}-roots"));
            }
            jobs.insert(
                name.clone(),
                json!({
                    "name": format!("apply wave {} ${{{{ matrix.root }}}}", w + 1),
                    "needs": needs,
                    "if": APPLY_EVENTS,
                    "runs-on": "ubuntu-latest",
                    "permissions": {"contents": "read", "id-token": "write"},
                    "environment": "${{ matrix.environment }}",
                    "concurrency": {"group": "apply-${{ matrix.root }}", "cancel-in-progress": false},
                    "strategy": {"fail-fast": false, "matrix": matrix},
                    "steps": gh_terraform_steps(layout, Access::Apply, vec![json!({
                        "name": "terraform apply",
                        "env": {"ROOT": "${{ matrix.root }}"},
                        "run": "terraform -chdir=\"live/$ROOT\" apply -input=false -auto-approve\n",
                    })]),
                }),
            );
            names.push(name);
        }
        previous = names;
    }
    let all: Vec<&Unit> = ci_units(layout);
    let drift_parts: Vec<&[&Unit]> = all.chunks(MAX_MATRIX).collect();
    for (i, part) in drift_parts.iter().enumerate() {
        let name = if drift_parts.len() == 1 {
            "drift".to_string()
        } else {
            format!("drift-part-{}", i + 1)
        };
        let range = (".ci_wave != null", i * MAX_MATRIX, (i + 1) * MAX_MATRIX);
        let (matrix, roots_job) = gh_matrix(layout, part, inline, &name, range);
        let mut needs: Vec<String> = vec![];
        if let Some(mut job) = roots_job {
            job["if"] = json!("github.event_name == 'schedule'");
            jobs.insert(format!("{name}-roots"), job);
            needs.push(format!("{name}-roots"));
        }
        let mut job = json!({
            "name": "drift ${{ matrix.root }}",
            "if": "github.event_name == 'schedule'",
            "runs-on": "ubuntu-latest",
            "permissions": {"contents": "read", "id-token": "write"},
            "strategy": {"fail-fast": false, "max-parallel": 20, "matrix": matrix},
            "steps": gh_terraform_steps(layout, Access::Plan, vec![json!({
                "name": "terraform plan -detailed-exitcode; the compliance maps into the summary",
                "env": {"ROOT": "${{ matrix.root }}"},
                "run": "set +e\n\
                        terraform -chdir=\"live/$ROOT\" plan -input=false -no-color -detailed-exitcode -out=tfplan > plan.txt\n\
                        rc=$?\n\
                        set -e\n\
                        if [ \"$rc\" -eq 1 ]; then cat plan.txt; exit 1; fi\n\
                        terraform -chdir=\"live/$ROOT\" show -json tfplan \\\n  \
                          | jq -r --arg root \"$ROOT\" '[.. | objects | .compliance? // empty | to_entries[] | select(.value == false) | .key] as $failing\n    \
                          | \"| \\($root) | \\(if $failing == [] then \"all controls hold\" else ($failing | join(\", \")) end) |\"' \\\n  \
                          >> \"$GITHUB_STEP_SUMMARY\"\n\
                        if [ \"$rc\" -eq 2 ]; then echo \"::warning title=drift::$ROOT has drifted\"; cat plan.txt; exit 2; fi\n",
            })]),
        });
        if !needs.is_empty() {
            job["needs"] = json!(needs);
        }
        jobs.insert(name, job);
    }
    let workflow = json!({
        "name": format!("{}: plan, apply in waves, drift", spec.organization),
        "on": {
            "pull_request": {"paths": watched},
            "push": {"branches": ["main"], "paths": watched},
            "schedule": [{"cron": "17 5 * * *"}],
            "workflow_dispatch": {},
        },
        "permissions": {"contents": "read"},
        "env": {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"},
        "jobs": Value::Object(jobs),
    });
    yaml_file(
        "Plans changed roots on pull requests, applies every root in dependency waves on main, reports drift daily.",
        &workflow,
    )
}

// ---------------------------------------------------------------------------------------
// GitLab CI.

fn gitlab_ci(layout: &Layout, paths: &Paths) -> Vec<File> {
    let spec = &layout.spec;
    let p = &spec.pipelines;
    let mut doc = Map::new();
    doc.insert("stages".into(), json!(["scan", "plan", "apply", "drift"]));
    doc.insert(
        "variables".into(),
        json!({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}),
    );
    doc.insert(
        ".terraform".into(),
        json!({
            "image": {"name": format!("hashicorp/terraform:{}", p.terraform_version), "entrypoint": [""]},
            "id_tokens": {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}},
            "before_script": [
                "echo \"$AWS_ID_TOKEN\" > \"$CI_PROJECT_DIR/.aws-web-identity-token\"",
                "export AWS_WEB_IDENTITY_TOKEN_FILE=\"$CI_PROJECT_DIR/.aws-web-identity-token\"",
                "export AWS_ROLE_ARN=\"arn:aws:iam::$ACCOUNT_ID:role/$DEPLOY_ROLE\"",
                "export AWS_REGION=\"$REGION\"",
                "terraform -chdir=\"live/$ROOT\" init -input=false",
            ],
        }),
    );
    doc.insert(
        "scan".into(),
        json!({
            "stage": "scan",
            "image": {"name": format!("aquasec/trivy:{TRIVY_VERSION}"), "entrypoint": [""]},
            "script": ["trivy config --severity HIGH,CRITICAL --exit-code 1 ."],
        }),
    );
    // The drift check of one root: exit 2 (drift) is a warning, not a failure; the
    // controls the plan's `compliance` maps say fail go into the job log and an artifact.
    doc.insert(
        ".drift".into(),
        json!({
            "extends": ".terraform",
            "stage": "drift",
            "needs": [],
            "rules": [{"if": "$CI_PIPELINE_SOURCE == \"schedule\""}],
            "allow_failure": {"exit_codes": [2]},
            "script": [
                "apk add --no-cache jq >/dev/null",
                "set +e; terraform -chdir=\"live/$ROOT\" plan -input=false -no-color -detailed-exitcode -out=tfplan > plan.txt; rc=$?; set -e",
                "if [ \"$rc\" -eq 1 ]; then cat plan.txt; exit 1; fi",
                "terraform -chdir=\"live/$ROOT\" show -json tfplan | jq -r --arg root \"$ROOT\" '[.. | objects | .compliance? // empty | to_entries[] | select(.value == false) | .key] as $failing | \"| \\($root) | \\(if $failing == [] then \"all controls hold\" else ($failing | join(\", \")) end) |\"' | tee drift-summary.md",
                "if [ \"$rc\" -eq 2 ]; then echo \"$ROOT has drifted\"; cat plan.txt; exit 2; fi",
            ],
            "artifacts": {"when": "always", "paths": ["drift-summary.md"]},
        }),
    );
    let modules = paths.modules_rel();
    let with_role = |vars: &Value, access: Access| {
        let mut v = vars.clone();
        v["DEPLOY_ROLE"] = json!(role_name(p, access));
        v
    };
    for u in ci_units(layout) {
        let vars = json!({
            "ROOT": u.id,
            "ACCOUNT_ID": spec.accounts[&u.account].id.clone().unwrap_or_default(),
            "REGION": u.region,
        });
        let mut changes = vec![format!("live/{}/**/*", u.id)];
        changes.extend(
            u.stack
                .modules()
                .iter()
                .map(|m| format!("{modules}/{m}/**/*")),
        );
        doc.insert(
            format!("plan:{}", u.id),
            json!({
                "extends": ".terraform",
                "stage": "plan",
                "needs": ["scan"],
                "variables": with_role(&vars, Access::Plan),
                "rules": [{"if": "$CI_PIPELINE_SOURCE == \"merge_request_event\"", "changes": changes}],
                "script": ["terraform -chdir=\"live/$ROOT\" plan -input=false -no-color"],
            }),
        );
        let mut needs = vec![json!("scan")];
        needs.extend(
            ci_deps(layout, u)
                .iter()
                .map(|d| json!(format!("apply:{d}"))),
        );
        let protected = layout.protected(u);
        let mut rule = json!({"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == \"push\""});
        if protected {
            rule["when"] = json!("manual");
        }
        doc.insert(
            format!("apply:{}", u.id),
            json!({
                "extends": ".terraform",
                "stage": "apply",
                "needs": needs,
                "variables": with_role(&vars, Access::Apply),
                "resource_group": u.id,
                "environment": {"name": if protected { "production".to_string() } else { u.account.clone() }},
                "rules": [rule],
                "script": ["terraform -chdir=\"live/$ROOT\" apply -input=false -auto-approve"],
            }),
        );
        doc.insert(
            format!("drift:{}", u.id),
            json!({
                "extends": ".drift",
                "variables": with_role(&vars, Access::Plan),
            }),
        );
    }
    const TOP: &str = "Plans changed roots on merge requests, applies each root after the roots it depends on, reports drift on schedules.";
    let whole = yaml_file(TOP, &Value::Object(doc.clone()));
    if whole.len() <= GITLAB_FILE_BUDGET {
        return vec![File {
            path: ".gitlab-ci.yml".into(),
            content: Content::Text(whole),
        }];
    }
    // Too large for one file: the per-root jobs go into included files, each within
    // the budget; `needs` reach across them (GitLab merges includes into one pipeline).
    let shared = ["stages", "variables", ".terraform", ".drift", "scan"];
    let mut top = Map::new();
    let mut parts: Vec<Map<String, Value>> = vec![Map::new()];
    let mut size = 0;
    for (k, v) in doc {
        if shared.contains(&k.as_str()) {
            top.insert(k, v);
            continue;
        }
        let job_size = yaml::to_string(&json!({ k.clone(): v.clone() })).len();
        if size + job_size > GITLAB_FILE_BUDGET {
            parts.push(Map::new());
            size = 0;
        }
        size += job_size;
        parts.last_mut().expect("one part at least").insert(k, v);
    }
    let names: Vec<String> = (1..=parts.len())
        .map(|i| format!("ci/gitlab/roots-{i:03}.yml"))
        .collect();
    top.insert(
        "include".into(),
        Value::Array(names.iter().map(|n| json!({"local": n})).collect()),
    );
    let mut files = vec![File {
        path: ".gitlab-ci.yml".into(),
        content: Content::Text(yaml_file(TOP, &Value::Object(top))),
    }];
    for (name, part) in names.into_iter().zip(parts) {
        files.push(File {
            path: name,
            content: Content::Text(yaml_file(
                "Per-root plan, apply and drift jobs, included by .gitlab-ci.yml (one file would pass GitLab's 1 MB limit).",
                &Value::Object(part),
            )),
        });
    }
    files
}

// ---------------------------------------------------------------------------------------
// Atlantis.

fn atlantis(layout: &Layout, paths: &Paths) -> String {
    let wave_of: std::collections::BTreeMap<&str, usize> = ci_waves(layout)
        .iter()
        .enumerate()
        .flat_map(|(w, us)| us.iter().map(move |u| (u.id.as_str(), w)))
        .collect();
    let projects: Vec<Value> = ci_units(layout)
        .into_iter()
        .map(|u| {
            let depth = u.id.split('/').count() + 1;
            let mut modified = vec!["*.tf".to_string(), "*.tfvars".to_string()];
            modified.extend(
                module_dirs(u, paths)
                    .iter()
                    .map(|m| format!("{}{m}/**/*.tf", "../".repeat(depth))),
            );
            let mut p = json!({
                "name": u.id,
                "dir": format!("live/{}", u.id),
                "execution_order_group": wave_of[u.id.as_str()],
                "depends_on": ci_deps(layout, u),
                "autoplan": {"enabled": true, "when_modified": modified},
            });
            if layout.protected(u) {
                p["apply_requirements"] = json!(["approved", "mergeable"]);
            }
            p
        })
        .collect();
    let doc = json!({
        "version": 3,
        "automerge": false,
        "parallel_plan": true,
        "parallel_apply": true,
        "abort_on_execution_order_fail": true,
        "projects": projects,
    });
    yaml_file(
        "One Atlantis project per root, ordered by the dependency graph.",
        &doc,
    )
}

// ---------------------------------------------------------------------------------------
// Terramate.

fn terramate_root() -> hcl::Body {
    hcl::Body::builder()
        .add_block(
            hcl::Block::builder("terramate")
                .add_attribute(("required_version", ">= 0.9.0"))
                .build(),
        )
        .build()
}

fn terramate_stack(layout: &Layout, u: &Unit) -> hcl::Body {
    let depth = u.id.split('/').count();
    let after: Vec<String> = u
        .depends_on
        .iter()
        .map(|d| format!("{}{d}", "../".repeat(depth)))
        .collect();
    let mut tags = vec![
        format!("account-{}", u.account),
        format!("region-{}", u.region),
        format!("stack-{}", u.stack.dir_name()),
    ];
    if layout.protected(u) {
        tags.push("protected".into());
    }
    hcl::Body::builder()
        .add_block(
            hcl::Block::builder("stack")
                .add_attribute(("name", u.id.clone()))
                .add_attribute(("id", u.id.replace('/', "_")))
                .add_attribute((
                    "description",
                    format!("{} in {} ({})", u.stack.dir_name(), u.account, u.region),
                ))
                .add_attribute(("tags", hcl::Expression::from_iter(tags)))
                .add_attribute(("after", hcl::Expression::from_iter(after)))
                .build(),
        )
        .build()
}
