//! Finding the external programs the tests drive: Terraform, `moto_server`, and the
//! provider binary (built with cargo at most once per test process).
//!
//! Everything lives under `BP_HOME` (default `$HOME/.cache/bankplatform`), where
//! `scripts/setup.sh` installs it. Environment overrides:
//! - `TF_ACC_TERRAFORM_PATH`: the Terraform used for [`TfVersion::V1_15`], the default;
//! - `TF_ACC_TERRAFORM_1_0_3_PATH`: the Terraform used by tests pinned to 1.0.3;
//! - `BP_MOTO_SERVER`: the `moto_server` executable;
//! - `BP_PROVIDER_BIN`: a prebuilt provider binary, so nothing is built.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

/// The Terraform release a test case runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TfVersion {
    /// Terraform 1.15, the default. `TF_ACC_TERRAFORM_PATH` replaces it.
    #[default]
    V1_15,
    /// Terraform 1.0.3, the oldest release the provider supports. Tests ask for it
    /// explicitly, and `TF_ACC_TERRAFORM_PATH` does not change it.
    V1_0_3,
}

impl TfVersion {
    /// The version as Terraform prints it, without the `v`.
    pub fn as_str(self) -> &'static str {
        match self {
            TfVersion::V1_15 => "1.15",
            TfVersion::V1_0_3 => "1.0.3",
        }
    }
}

/// The directory `scripts/setup.sh` installs into: `BP_HOME`, or `$HOME/.cache/bankplatform`.
pub fn bp_home() -> PathBuf {
    if let Some(home) = std::env::var_os("BP_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/bankplatform")
}

/// The Terraform executable for `version`, checked to exist.
pub fn terraform(version: TfVersion) -> Result<PathBuf> {
    let (var, default) = match version {
        TfVersion::V1_15 => ("TF_ACC_TERRAFORM_PATH", "terraform-1.15"),
        TfVersion::V1_0_3 => ("TF_ACC_TERRAFORM_1_0_3_PATH", "terraform-1.0.3"),
    };
    let path = env_path(var).unwrap_or_else(|| bp_home().join("bin").join(default));
    executable(&path).with_context(|| {
        format!(
            "Terraform {} not found (set {var}, or run scripts/setup.sh)",
            version.as_str()
        )
    })
}

/// The `moto_server` executable, checked to exist.
pub fn moto_server() -> Result<PathBuf> {
    let path = env_path("BP_MOTO_SERVER").unwrap_or_else(|| bp_home().join("bin/moto_server"));
    executable(&path).context("moto_server not found (set BP_MOTO_SERVER, or run scripts/setup.sh)")
}

/// The workspace root: the parent of this crate's directory. Read from the
/// environment cargo sets when it runs the tests, not baked in at compile
/// time: the library may have been compiled in another checkout sharing the
/// same target dir (CI clones do), and must not read that checkout's files.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("the acceptance-tests crate lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, or else the one holding the running
/// test binary (`<target>/debug/deps/acceptance-<hash>`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = env_path("CARGO_TARGET_DIR") {
        return dir;
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A directory for the harness's own files (the mirror, moto's log), under the target dir.
pub fn harness_dir() -> Result<PathBuf> {
    let dir = target_dir().join("bp-acc");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Removes the entries of `base` named `<prefix><pid>` or `<prefix><pid>-...` whose test
/// process no longer runs: what earlier test processes left (they cannot clean up after
/// themselves, since statics are never dropped).
pub fn remove_entries_of_exited_processes(base: &Path, prefixes: &[&str]) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = prefixes
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix))
            .and_then(|rest| rest.split(['-', '.']).next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Copies the directory tree `from` into `to`, leaving out entries named in `skip`
/// (e.g. `.terraform`) at any depth.
pub fn copy_dir(from: &Path, to: &Path, skip: &[&str]) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if skip.iter().any(|s| entry.file_name() == **s) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target, skip)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}

/// The provider binary: `BP_PROVIDER_BIN`, or else built once per test process with
/// `cargo build -p terraform-provider-bankplatform` into [`target_dir`].
///
/// This blocks while cargo runs; async callers should use `spawn_blocking`.
pub fn provider_binary() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_provider().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build_provider() -> Result<PathBuf> {
    if let Some(bin) = env_path("BP_PROVIDER_BIN") {
        return executable(&bin).context("BP_PROVIDER_BIN");
    }
    let target = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "-p",
        "terraform-provider-bankplatform",
        "--bin",
        "terraform-provider-bankplatform",
    ])
    .current_dir(workspace_root())
    .env("CARGO_TARGET_DIR", &target);
    let out = cmd
        .output()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    if !out.status.success() {
        bail!(
            "building the provider failed ({}): cargo build -p terraform-provider-bankplatform\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    executable(&target.join("debug/terraform-provider-bankplatform"))
        .context("cargo build succeeded but the provider binary is missing")
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn executable(path: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        bail!("{} is not an executable file", path.display());
    }
    Ok(path.to_path_buf())
}
