//! Installing the provider the way banks do: from the artifacts
//! `scripts/release.sh` writes (zip, SHA256SUMS, its GPG signature, packed
//! and unpacked filesystem mirrors, network-mirror JSON). Real Terraform 1.15
//! and 1.0.3 install from the packed filesystem mirror, apply the bucket
//! example against moto, plan nothing, destroy; the lock file they write
//! verifies on the next init; a tampered zip makes init fail; a tampered
//! SHA256SUMS fails signature verification.

use std::path::{Path, PathBuf};
use std::process::Command;

use acceptance_tests::terraform::Terraform;
use acceptance_tests::{moto, skip_unless_acc, tools, TfVersion};
use anyhow::{bail, ensure, Context, Result};

const ADDR: &str = "registry.terraform.io/bankplatform/bankplatform";

/// Runs scripts/release.sh into a fresh directory, packaging the provider binary under test.
fn release(out: &Path) -> Result<()> {
    let binary = tools::provider_binary()?;
    let status = Command::new(tools::workspace_root().join("scripts/release.sh"))
        .arg("--out")
        .arg(out)
        .arg("--binary")
        .arg(&binary)
        .status()
        .context("running scripts/release.sh")?;
    ensure!(status.success(), "scripts/release.sh failed: {status}");
    Ok(())
}

fn cli_config(dir: &Path, mirror: &Path) -> Result<PathBuf> {
    let path = dir.join("terraformrc");
    std::fs::write(
        &path,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/bankplatform/*\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )?;
    Ok(path)
}

fn network_hashes(out: &Path) -> Result<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        out.join(format!("mirror/network/{ADDR}/0.1.0.json")),
    )?)?;
    Ok(v["archives"]["linux_amd64"]["hashes"]
        .as_array()
        .context("no hashes")?
        .iter()
        .filter_map(|h| h.as_str().map(str::to_string))
        .collect())
}

async fn install_and_apply(version: TfVersion) -> Result<()> {
    let work = tempfile::tempdir()?;
    let out = work.path().join("release");
    release(&out)?;
    let hashes = network_hashes(&out)?;
    let h1 = hashes
        .iter()
        .find(|h| h.starts_with("h1:"))
        .context("no h1 hash")?
        .clone();
    let endpoint = moto::endpoint().await?;
    let example =
        std::fs::read_to_string(tools::workspace_root().join("examples/compliant_bucket/main.tf"))?;

    let config = cli_config(work.path(), &out.join("mirror/packed"))?;
    let tf = Terraform::new(
        &tools::terraform(version)?,
        version,
        &config,
        "release-install",
    )?;
    tf.write_config(&example)?;
    tf.init().await?;
    let lock = std::fs::read_to_string(tf.dir().join(".terraform.lock.hcl"))
        .context("no lock file written")?;
    ensure!(
        lock.contains(&h1),
        "the lock file does not record the release's {h1}:\n{lock}"
    );
    let var = format!("-var=aws_endpoint={endpoint}");
    let result = async {
        tf.run(&["apply", "-input=false", "-no-color", "-auto-approve", &var])
            .await?;
        let plan = tf
            .run_with_ok_codes(
                &[
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-detailed-exitcode",
                    &var,
                ],
                &[0, 2],
            )
            .await?;
        if plan.exit_code == 2 {
            bail!("the plan after apply was not empty:\n{}", plan.combined());
        }
        // The lock file verifies on the next init.
        tf.init().await?;
        Ok(())
    }
    .await;
    let destroyed = tf
        .run(&[
            "destroy",
            "-input=false",
            "-no-color",
            "-auto-approve",
            &var,
        ])
        .await;
    result?;
    destroyed?;

    // A tampered package (same name and version, other bytes) fails init against that lock file.
    let tampered = work.path().join("tampered");
    std::fs::create_dir_all(tampered.join(ADDR))?;
    let stage = work.path().join("stage");
    std::fs::create_dir_all(&stage)?;
    let exe = stage.join("terraform-provider-bankplatform_v0.1.0");
    let mut bytes = std::fs::read(tools::provider_binary()?)?;
    bytes.push(0);
    std::fs::write(&exe, bytes)?;
    let zip = tampered
        .join(ADDR)
        .join("terraform-provider-bankplatform_0.1.0_linux_amd64.zip");
    let status = Command::new("zip")
        .arg("-q")
        .arg("-j")
        .arg("-X")
        .arg(&zip)
        .arg(&exe)
        .status()?;
    ensure!(status.success(), "zip failed");
    let bad_config = cli_config(&stage, &tampered)?;
    let tf2 = Terraform::new(
        &tools::terraform(version)?,
        version,
        &bad_config,
        "release-tampered",
    )?;
    tf2.write_config(&example)?;
    std::fs::copy(
        tf.dir().join(".terraform.lock.hcl"),
        tf2.dir().join(".terraform.lock.hcl"),
    )?;
    match tf2.init().await {
        Ok(out) => bail!("init accepted a tampered package:\n{}", out.combined()),
        Err(e) => {
            let text = format!("{e:#}");
            ensure!(
                text.contains("checksum") || text.contains("does not match"),
                "init failed, but not on the checksum:\n{text}"
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_install_from_packed_mirror_tf_1_15() -> Result<()> {
    skip_unless_acc!();
    install_and_apply(TfVersion::V1_15).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_install_from_packed_mirror_tf_1_0_3() -> Result<()> {
    skip_unless_acc!();
    install_and_apply(TfVersion::V1_0_3).await
}

/// The SHA256SUMS signature verifies with the published key and fails once the file changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_signature_verifies_and_detects_tampering() -> Result<()> {
    skip_unless_acc!();
    let work = tempfile::tempdir()?;
    let out = work.path().join("release");
    release(&out)?;
    let sums = out.join("dist/terraform-provider-bankplatform_0.1.0_SHA256SUMS");
    let sig = out.join("dist/terraform-provider-bankplatform_0.1.0_SHA256SUMS.sig");
    // A fresh keyring holding only the published public key.
    let ring = work.path().join("verify-ring");
    std::fs::create_dir_all(&ring)?;
    let gpg = |args: &[&std::ffi::OsStr]| {
        Command::new("gpg")
            .env("GNUPGHOME", &ring)
            .arg("--batch")
            .args(args)
            .output()
    };
    let import = gpg(&[
        "--import".as_ref(),
        out.join("dist/signing-key.asc").as_os_str(),
    ])?;
    ensure!(
        import.status.success(),
        "importing the key failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let good = gpg(&["--verify".as_ref(), sig.as_os_str(), sums.as_os_str()])?;
    ensure!(
        good.status.success(),
        "the signature does not verify: {}",
        String::from_utf8_lossy(&good.stderr)
    );
    let mut text = std::fs::read_to_string(&sums)?;
    text.push_str("0000000000000000000000000000000000000000000000000000000000000000  evil.zip\n");
    std::fs::write(&sums, text)?;
    let bad = gpg(&["--verify".as_ref(), sig.as_os_str(), sums.as_os_str()])?;
    ensure!(
        !bad.status.success(),
        "a tampered SHA256SUMS still verifies"
    );
    Ok(())
}
