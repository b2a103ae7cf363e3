//! Helpers shared by the integration tests: the example spec and rendering into memory.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bankplatform_gen::render::{self, Paths, MODULES_PREFIX};
use bankplatform_gen::{layout, spec};

/// The crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
}

/// The repository root.
pub fn repo_dir() -> PathBuf {
    crate_dir()
        .parent()
        .expect("hcl-gen sits in the workspace")
        .to_path_buf()
}

/// The example spec's path.
pub fn example_spec() -> PathBuf {
    repo_dir().join("examples/platform/platform.hcl")
}

/// Renders the spec at `path` with modules under the output root; returns path → text,
/// with module files under `modules/`.
pub fn render_tree(path: &Path) -> BTreeMap<String, String> {
    let spec = spec::load(path).expect("the spec is valid");
    render_spec(&spec)
}

/// Renders a parsed spec the same way as [`render_tree`].
pub fn render_spec(spec: &spec::Spec) -> BTreeMap<String, String> {
    let files = render::render(&layout::resolve(spec), &Paths::new("/out"));
    files
        .iter()
        .map(|f| {
            let p = match f.path.strip_prefix(MODULES_PREFIX) {
                Some(rest) => format!("modules/{rest}"),
                None => f.path.clone(),
            };
            (p, f.text())
        })
        .collect()
}

/// Writes `tree` under `dir`.
pub fn write_tree(dir: &Path, tree: &BTreeMap<String, String>) {
    for (p, text) in tree {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Whether acceptance runs are on: `TF_ACC` set and non-empty (as in the acceptance crate).
pub fn acc_enabled() -> bool {
    std::env::var_os("TF_ACC").is_some_and(|v| !v.is_empty())
}

/// Terraform 1.15, if installed (`TF_ACC_TERRAFORM_PATH` or `$BP_HOME/bin/terraform-1.15`).
pub fn terraform() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TF_ACC_TERRAFORM_PATH").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("BP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/bankplatform")
        });
    let p = home.join("bin/terraform-1.15");
    p.exists().then_some(p)
}
