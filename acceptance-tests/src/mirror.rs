//! The provider as a filesystem mirror, and the Terraform CLI config that installs from it.
//!
//! Layout (the "unpacked" mirror layout, so `terraform init` links the package in):
//! `<dir>/registry.terraform.io/bankplatform/bankplatform/0.1.0/linux_amd64/terraform-provider-bankplatform_v0.1.0`,
//! a script that runs the binary copied to `<root>/bin/` (see [`install_binary`] for why).
//! The CLI config has a single `filesystem_mirror` and no `direct` method, so Terraform
//! never downloads anything. The mirror is built once per test process under
//! `<target>/bp-acc/mirror-<pid>/`, shared read-only by every test, and mirrors left by
//! test processes that no longer run are removed.
//!
//! Test cases that never use the provider get [`cli_config_without_provider`], whose
//! mirror is empty, so they need no provider build at all.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};

use crate::tools;

/// The provider's source address, as configs write it in `required_providers`.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/bankplatform/bankplatform";
/// The version the mirror offers.
pub const PROVIDER_VERSION: &str = "0.1.0";

/// A laid-out mirror and the CLI config file pointing at it.
#[derive(Clone, Debug)]
pub struct Mirror {
    /// The mirror's base directory.
    pub dir: PathBuf,
    /// The CLI config file, for `TF_CLI_CONFIG_FILE`.
    pub cli_config: PathBuf,
}

/// The mirror holding the provider binary, built on first use (this may run cargo).
pub async fn with_provider() -> Result<Mirror> {
    tokio::task::spawn_blocking(with_provider_blocking)
        .await
        .context("the mirror task panicked")?
}

/// [`with_provider`] for synchronous callers.
pub fn with_provider_blocking() -> Result<Mirror> {
    static MIRROR: OnceLock<Result<Mirror, String>> = OnceLock::new();
    MIRROR
        .get_or_init(|| build(true).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// A CLI config whose only installation method is an empty mirror: configs that use
/// only built-in resources work, and nothing can be downloaded.
pub fn cli_config_without_provider() -> Result<PathBuf> {
    static EMPTY: OnceLock<Result<Mirror, String>> = OnceLock::new();
    EMPTY
        .get_or_init(|| build(false).map_err(|e| format!("{e:#}")))
        .clone()
        .map(|m| m.cli_config)
        .map_err(anyhow::Error::msg)
}

fn build(with_provider: bool) -> Result<Mirror> {
    let base = tools::harness_dir()?;
    tools::remove_entries_of_exited_processes(&base, &["mirror-", "empty-mirror-"]);
    let kind = if with_provider {
        "mirror"
    } else {
        "empty-mirror"
    };
    let root = base.join(format!("{kind}-{}", std::process::id()));
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    let dir = root.join("providers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if with_provider {
        install_binary(&tools::provider_binary()?, &dir)?;
    }
    let cli_config = root.join("terraform.rc");
    std::fs::write(&cli_config, cli_config_text(&dir))
        .with_context(|| format!("writing {}", cli_config.display()))?;
    Ok(Mirror { dir, cli_config })
}

/// Installs the provider into the mirror as a two-line `sh` script that `exec`s a copy
/// of the binary kept beside the mirror (`<root>/bin/`).
///
/// Terraform hashes every provider package against the lock file on each command
/// (`plan`, `apply`, `show`, ...). The debug binary is about 180 MB, and Terraform
/// 1.0.3's SHA-256 has no SHA-NI path: that hash alone cost 0.3 s of CPU per 1.0.3
/// command, thousands of times a run. A script hashes in microseconds; after the `exec`
/// the process is the provider itself (its pid, environment and `comm`, which
/// [`crate::fault_proxy::provider_pid`] reads). `release_install` tests the real
/// packages (zips, signatures, every mirror layout); this is the test harness's fixture.
fn install_binary(bin: &Path, dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let root = dir.parent().context("the mirror has no parent directory")?;
    let bin_dir = root.join("bin");
    std::fs::create_dir_all(&bin_dir)?;
    // A copy, not a link: a rebuild during the run must not change the provider the
    // tests run (nor, through the script, what Terraform recorded at init).
    let copy = bin_dir.join("terraform-provider-bankplatform");
    std::fs::copy(bin, &copy)
        .with_context(|| format!("copying {} to {}", bin.display(), copy.display()))?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))?;
    let package = dir.join(format!(
        "{PROVIDER_SOURCE}/{PROVIDER_VERSION}/{}",
        platform()
    ));
    std::fs::create_dir_all(&package)?;
    let dest = package.join(format!(
        "terraform-provider-bankplatform_v{PROVIDER_VERSION}"
    ));
    let quoted = copy.display().to_string().replace('\'', "'\\''");
    std::fs::write(&dest, format!("#!/bin/sh\nexec '{quoted}' \"$@\"\n"))
        .with_context(|| format!("writing {}", dest.display()))?;
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// The CLI config text for a mirror at `dir`.
pub fn cli_config_text(dir: &Path) -> String {
    format!(
        "# Written by the bankplatform acceptance-test harness.\n\
         disable_checkpoint = true\n\
         provider_installation {{\n  \
           filesystem_mirror {{\n    \
             path    = {path:?}\n    \
             include = [\"registry.terraform.io/bankplatform/*\"]\n  \
           }}\n\
         }}\n",
        path = dir.display().to_string()
    )
}

/// Terraform's `GOOS_GOARCH` name of this machine.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}
