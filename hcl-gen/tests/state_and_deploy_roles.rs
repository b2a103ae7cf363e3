//! The bootstrap root's state backend and deploy roles: S3 lock files or a DynamoDB
//! lock table as the Terraform version asks, each account's apply and plan roles
//! trusted for the spec's CI project, and pipelines that assume the plan role for
//! plans and drift checks and the apply role for applies.

mod common;

use std::path::Path;

use bankplatform_gen::init::{spec_text, SpecParams};
use bankplatform_gen::spec;

fn render(text: &str) -> std::collections::BTreeMap<String, String> {
    let spec = spec::parse(Path::new("spec.hcl"), text).expect("a valid spec");
    common::render_spec(&spec)
}

fn file<'a>(tree: &'a std::collections::BTreeMap<String, String>, path: &str) -> &'a str {
    tree.get(path)
        .unwrap_or_else(|| panic!("{path} is not generated"))
}

#[test]
fn the_example_locks_with_s3_files_and_trusts_its_github_repository() {
    let tree = render(&spec_text(&SpecParams::example()));
    let backend = file(&tree, "live/development/eu-west-1/network/backend.tf");
    assert!(backend.contains("use_lockfile = true"), "{backend}");
    assert!(!backend.contains("dynamodb_table"), "{backend}");
    assert!(file(&tree, "live/development/eu-west-1/network/versions.tf").contains(">= 1.10.0"));
    let boot = file(&tree, "live/management/eu-west-1/bootstrap/main.tf");
    assert!(
        !boot.contains("lock_table          = true"),
        "no lock table with S3 lock files:\n{boot}"
    );
    // Every account with an id gets both roles; production's apply role is trusted
    // only for the production environment (approval), development's for its own.
    assert!(boot.contains("module \"deploy_access\""), "{boot}");
    assert!(
        boot.contains("\"repo:acme-bank/platform:environment:production\""),
        "{boot}"
    );
    assert!(
        boot.contains("\"repo:acme-bank/platform:environment:development\""),
        "{boot}"
    );
    assert!(
        boot.contains("\"repo:acme-bank/platform:pull_request\""),
        "{boot}"
    );
    assert!(
        boot.contains("issuer_url        = \"https://token.actions.githubusercontent.com\""),
        "{boot}"
    );
    // Only the deploy and plan roles (and the operator's) reach state objects.
    for id in ["210000000001", "210000000005", "210000000007"] {
        for role in ["bankplatform-deploy", "bankplatform-deploy-plan"] {
            assert!(
                boot.contains(&format!("\"arn:aws:iam::{id}:role/{role}\"")),
                "{id} {role}"
            );
        }
    }
    let module = file(&tree, "modules/state_backend/main.tf");
    assert!(
        module.contains("\"aws:PrincipalArn\" = var.admitted_role_arns"),
        "{module}"
    );
    // Plans and drift assume the plan role, applies the apply role.
    let gh = file(&tree, ".github/workflows/bankplatform.yml");
    assert!(
        gh.contains("role/bankplatform-deploy-plan"),
        "GitHub plans assume the plan role"
    );
    assert!(
        gh.contains("role/bankplatform-deploy\"\n"),
        "GitHub applies assume the apply role"
    );
    let gl = file(&tree, ".gitlab-ci.yml");
    assert!(gl.contains("role/$DEPLOY_ROLE"), "{gl}");
    assert!(
        gl.contains("DEPLOY_ROLE: \"bankplatform-deploy-plan\""),
        "GitLab plans assume the plan role"
    );
    assert!(
        gl.contains("DEPLOY_ROLE: \"bankplatform-deploy\"\n"),
        "GitLab applies assume the apply role"
    );
}

#[test]
fn older_terraform_locks_with_a_dynamodb_table_and_gitlab_is_trusted_when_named() {
    let text = spec_text(&SpecParams::example())
        .replace(
            "terraform_version = \"1.15.5\"",
            "terraform_version = \"1.9.8\"",
        )
        .replace(
            "  repository        = \"acme-bank/platform\"",
            "  gitlab_project    = \"acme-bank/infrastructure\"",
        );
    let tree = render(&text);
    let backend = file(&tree, "live/development/eu-west-1/network/backend.tf");
    assert!(
        backend.contains("dynamodb_table = \"acme-bank-tfstate-eu-west-1-lock\""),
        "{backend}"
    );
    assert!(!backend.contains("use_lockfile"), "{backend}");
    assert!(file(&tree, "live/development/eu-west-1/network/versions.tf").contains(">= 1.6.0"));
    let boot = file(&tree, "live/management/eu-west-1/bootstrap/main.tf");
    assert!(boot.contains("lock_table          = true"), "{boot}");
    assert!(
        boot.contains("deletion_protection = var.protect_state"),
        "{boot}"
    );
    assert!(
        file(&tree, "live/management/eu-west-1/bootstrap/variables.tf")
            .contains("variable \"protect_state\"")
    );
    assert!(
        boot.contains("issuer_url        = \"https://gitlab.com\""),
        "{boot}"
    );
    assert!(
        boot.contains("\"project_path:acme-bank/infrastructure:ref_type:branch:ref:main\""),
        "{boot}"
    );
    assert!(file(&tree, "modules/state_backend/main.tf")
        .contains("resource \"bankplatform_dynamodb_table\" \"lock\""));
}

#[test]
fn without_a_ci_project_no_deploy_roles_are_made() {
    let text = spec_text(&SpecParams::example())
        .replace("  repository        = \"acme-bank/platform\"\n", "");
    let tree = render(&text);
    let boot = file(&tree, "live/management/eu-west-1/bootstrap/main.tf");
    assert!(!boot.contains("deploy_access"), "{boot}");
    assert!(!boot.contains("admitted_role_arns"), "{boot}");
}
