//! Real Terraform on the generated tree.
//!
//! - `generated_tree_is_fmt_clean`: `terraform fmt -check -recursive` passes on the example
//!   tree. Without `TF_ACC` it is skipped, saying why, when Terraform 1.15 is not
//!   installed; with `TF_ACC=1` a missing Terraform fails the test.
//! - `every_root_validates` (`TF_ACC=1`): `terraform init -backend=false` and `terraform
//!   validate` in every root, with the provider from a filesystem mirror (built with cargo
//!   unless `BP_PROVIDER_BIN` names a binary). Nothing is skipped: a root whose modules use
//!   a resource type the provider lacks (`terraform providers schema -json`) fails with its
//!   name, and the count validated must equal the count of roots in the manifest.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use bankplatform_gen::render::{self, Paths};
use bankplatform_gen::{layout, spec, write};

fn generate_example(dir: &Path) -> Paths {
    let paths = Paths::new(dir.join("out"));
    let spec = spec::load(&common::example_spec()).unwrap();
    let files = render::render(&layout::resolve(&spec), &paths);
    write::apply(&write::plan(&files, &paths).unwrap()).unwrap();
    paths
}

fn run(tf: &Path, dir: &Path, args: &[&str], cli_config: &Path) -> std::process::Output {
    Command::new(tf)
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("running terraform")
}

#[test]
fn generated_tree_is_fmt_clean() {
    let Some(tf) = common::terraform() else {
        assert!(
            !common::acc_enabled(),
            "TF_ACC is set but Terraform 1.15 is not installed (set TF_ACC_TERRAFORM_PATH or run scripts/setup.sh)"
        );
        eprintln!(
            "skipped: Terraform 1.15 not found (set TF_ACC_TERRAFORM_PATH or run scripts/setup.sh)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let paths = generate_example(dir.path());
    let rc = dir.path().join("empty.rc");
    std::fs::write(&rc, "disable_checkpoint = true\n").unwrap();
    let out = run(
        &tf,
        &paths.out,
        &["fmt", "-check", "-recursive", "-diff", "."],
        &rc,
    );
    assert!(
        out.status.success(),
        "terraform fmt would change the generated files:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The provider binary: `BP_PROVIDER_BIN`, or a fresh `cargo build -p terraform-provider-bankplatform`.
fn provider_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BP_PROVIDER_BIN").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "terraform-provider-bankplatform"])
        .current_dir(common::repo_dir())
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building the provider failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo_dir().join("target"));
    target.join("debug/terraform-provider-bankplatform")
}

/// Lays out a filesystem mirror under `dir` and returns the CLI config pointing at it.
fn mirror(dir: &Path, bin: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let pkg = dir.join("mirror/registry.terraform.io/bankplatform/bankplatform/0.1.0/linux_amd64");
    std::fs::create_dir_all(&pkg).unwrap();
    let dest = pkg.join("terraform-provider-bankplatform_v0.1.0");
    std::fs::copy(bin, &dest).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rc = dir.join("terraform.rc");
    std::fs::write(
        &rc,
        format!(
            "disable_checkpoint = true\nprovider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"registry.terraform.io/bankplatform/*\"]\n  }}\n}}\n",
            dir.join("mirror").display().to_string()
        ),
    )
    .unwrap();
    rc
}

/// Resource types the root at `root` uses through its modules.
fn resource_types(root: &Path) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    let main = hcl::parse(&std::fs::read_to_string(root.join("main.tf")).unwrap()).unwrap();
    for module in main.blocks().filter(|b| b.identifier() == "module") {
        let Some(hcl::Expression::String(source)) = module
            .body()
            .attributes()
            .find(|a| a.key() == "source")
            .map(|a| a.expr().clone())
        else {
            continue;
        };
        let body = hcl::parse(&std::fs::read_to_string(root.join(source).join("main.tf")).unwrap())
            .unwrap();
        for r in body.blocks().filter(|b| b.identifier() == "resource") {
            types.insert(r.labels()[0].as_str().to_string());
        }
    }
    types
}

#[test]
fn every_root_validates() {
    if !common::acc_enabled() {
        eprintln!(
            "skipped: set TF_ACC=1 to run terraform init and validate in every generated root"
        );
        return;
    }
    let tf = common::terraform().expect("TF_ACC=1 needs Terraform 1.15 (scripts/setup.sh)");
    let dir = tempfile::tempdir().unwrap();
    let paths = generate_example(dir.path());
    let rc = mirror(dir.path(), &provider_binary());
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(paths.out.join("live/manifest.json")).unwrap(),
    )
    .unwrap();
    let roots: Vec<String> = manifest["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    let mut known: Option<BTreeSet<String>> = None;
    let mut validated = 0;
    for root in &roots {
        let root_dir = paths.out.join(root);
        let init = run(
            &tf,
            &root_dir,
            &["init", "-backend=false", "-input=false", "-no-color"],
            &rc,
        );
        assert!(
            init.status.success(),
            "{root}: terraform init failed:\n{}",
            String::from_utf8_lossy(&init.stderr)
        );
        if known.is_none() {
            let schema = run(&tf, &root_dir, &["providers", "schema", "-json"], &rc);
            assert!(schema.status.success(), "{root}: providers schema failed");
            let v: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
            let mut types = BTreeSet::new();
            for p in v["provider_schemas"].as_object().unwrap().values() {
                if let Some(r) = p["resource_schemas"].as_object() {
                    types.extend(r.keys().cloned());
                }
            }
            known = Some(types);
        }
        let missing: Vec<String> = resource_types(&root_dir)
            .into_iter()
            .filter(|t| !known.as_ref().unwrap().contains(t))
            .collect();
        assert!(
            missing.is_empty(),
            "{root}: its modules use resource types the provider does not have: {}",
            missing.join(", ")
        );
        let out = run(&tf, &root_dir, &["validate", "-no-color"], &rc);
        assert!(
            out.status.success(),
            "{root}: terraform validate failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        validated += 1;
    }
    eprintln!("validated {validated} of {} roots", roots.len());
    assert_eq!(
        validated,
        roots.len(),
        "every root in live/manifest.json validates"
    );
    assert!(!roots.is_empty(), "the manifest lists roots");
}
