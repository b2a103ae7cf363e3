//! Installing the provider the way banks do: from the artifacts `scripts/release.sh`
//! writes and publishes (zip, SHA256SUMS, its GPG signature, the two filesystem-mirror
//! layouts, a network mirror and a static provider registry).
//!
//! The release is made once per test process from the provider binary under test and
//! served over HTTPS by Debian's nginx with a throwaway CA that Terraform trusts through
//! `SSL_CERT_FILE` ([`acceptance_tests::https_server`]). For each way in — packed and
//! unpacked filesystem mirror, network mirror, private registry (source
//! `localhost:<port>/bankplatform/bankplatform`, found by service discovery) — real
//! Terraform 1.15 and 1.0.3 install the provider, apply the bucket example against moto,
//! plan nothing, re-run init against the lock file they wrote, and destroy. Each way also
//! has its attack: a tampered zip in a filesystem mirror (against a lock file) and in a
//! network mirror (against the mirror's hashes), and a registry whose signature comes from
//! a key other than the one it publishes, all make `terraform init` fail. A tampered
//! SHA256SUMS fails `gpg --verify`, and a bank's own key named by `BP_GPG_KEY_ID` signs
//! the release instead of a throwaway one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use acceptance_tests::checks::s3;
use acceptance_tests::https_server::HttpsServer;
use acceptance_tests::terraform::Terraform;
use acceptance_tests::{moto, skip_unless_acc, tools, Aws, TfVersion};
use anyhow::{bail, ensure, Context, Result};

/// The provider's origin address in the filesystem and network mirrors.
const ORIGIN: &str = "registry.terraform.io/bankplatform/bankplatform";
const VERSION: &str = "0.1.0";
const ZIP: &str = "terraform-provider-bankplatform_0.1.0_linux_amd64.zip";
const SUMS: &str = "terraform-provider-bankplatform_0.1.0_SHA256SUMS";

/// The ways in.
#[derive(Clone, Copy, Debug)]
enum Channel {
    PackedMirror,
    UnpackedMirror,
    NetworkMirror,
    Registry,
}

/// Servers of [`Published::server`], by index.
const GOOD_MIRROR: usize = 0; // <release>/mirror: the network mirror at /network/
const GOOD_REGISTRY: usize = 1; // <release>/mirror/registry: the registry at the host's root
const BAD_MIRROR: usize = 2; // <tampered>: a network mirror at /network/ with a swapped zip
const BAD_REGISTRY: usize = 3; // <tampered>/registry: a registry signed by another key

/// The release, published once per test process, and nginx serving it.
struct Published {
    /// This process's directory: the release, the tampered trees, nginx's files, CLI configs.
    root: PathBuf,
    /// `<release>` from release.sh's `--out`: `dist/` and `mirror/`.
    release: PathBuf,
    /// Trees an attacker changed: `packed/`, `network/`, `registry/`.
    tampered: PathBuf,
    h1: String,
    zh: String,
    server: HttpsServer,
}

async fn published() -> Result<&'static Published> {
    static PUBLISHED: OnceLock<Result<Published, String>> = OnceLock::new();
    tokio::task::spawn_blocking(|| {
        PUBLISHED
            .get_or_init(|| publish().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await
    .context("the release task panicked")?
}

fn publish() -> Result<Published> {
    let harness = tools::harness_dir()?;
    tools::remove_entries_of_exited_processes(&harness, &["release-"]);
    let root = harness.join(format!("release-{}", std::process::id()));
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let release = root.join("release");
    run(
        Command::new(tools::workspace_root().join("scripts/release.sh"))
            .arg("--out")
            .arg(&release)
            .arg("--binary")
            .arg(tools::provider_binary()?),
    )?;
    let (h1, zh) = network_hashes(&release)?;

    // A package with the same name and version and other bytes: the binary plus one byte.
    let tampered = root.join("tampered");
    let stage = root.join("stage");
    std::fs::create_dir_all(&stage)?;
    let exe = stage.join(format!("terraform-provider-bankplatform_v{VERSION}"));
    let mut bytes = std::fs::read(tools::provider_binary()?)?;
    bytes.push(0);
    std::fs::write(&exe, bytes)?;
    let bad_zip = stage.join(ZIP);
    run(Command::new("zip")
        .args(["-q", "-j", "-X"])
        .arg(&bad_zip)
        .arg(&exe))?;

    // Filesystem mirror: the swapped zip alone.
    copy_into(&bad_zip, &tampered.join("packed").join(ORIGIN))?;
    // Network mirror: the publisher's index and hashes, the swapped zip.
    let good_net = release.join("mirror/network").join(ORIGIN);
    let bad_net = tampered.join("network").join(ORIGIN);
    for doc in ["index.json", "0.1.0.json"] {
        copy_into(&good_net.join(doc), &bad_net)?;
    }
    copy_into(&bad_zip, &bad_net)?;
    // Registry: the publisher's documents and files, but SHA256SUMS signed by another key.
    let good_reg = release.join("mirror/registry");
    let bad_reg = tampered.join("registry");
    tools::copy_dir(&good_reg, &bad_reg, &[])?;
    let attacker = root.join("attacker-gnupg");
    let sig = bad_reg.join(format!(
        "v1/providers/bankplatform/bankplatform/{VERSION}/{SUMS}.sig"
    ));
    sign_with_new_key(
        &attacker,
        &good_reg.join(format!(
            "v1/providers/bankplatform/bankplatform/{VERSION}/{SUMS}"
        )),
        &sig,
    )?;

    let server = HttpsServer::start(
        &root.join("nginx"),
        &[&release.join("mirror"), &good_reg, &tampered, &bad_reg],
    )?;
    Ok(Published {
        root,
        release,
        tampered,
        h1,
        zh,
        server,
    })
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn copy_into(file: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let name = file.file_name().context("no file name")?;
    std::fs::copy(file, dir.join(name))
        .with_context(|| format!("copying {} to {}", file.display(), dir.display()))?;
    Ok(())
}

/// `gpg --batch --quiet` on the keyring `home`.
fn gpg(home: &Path) -> Command {
    let mut cmd = Command::new("gpg");
    cmd.env("GNUPGHOME", home).args(["--batch", "--quiet"]);
    cmd
}

/// Creates the keyring `home` with one new signing key for `uid`; returns the key id.
fn new_signing_key(home: &Path, uid: &str) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(home)?;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
    run(gpg(home).args([
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-generate-key",
        uid,
        // RSA, not ed25519: Terraform 1.0.3's OpenPGP library cannot parse ed25519, and
        // would refuse a signature for that reason instead of for its issuer.
        "rsa2048",
        "sign",
        "1d",
    ]))
    .inspect_err(|_| stop_agent(home))?;
    let out = gpg(home).args(["--with-colons", "--list-keys"]).output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("pub:"))
        .and_then(|l| l.split(':').nth(4))
        .map(str::to_string)
        .context("the new key is not in the keyring")
}

/// Stops the gpg-agent that gpg started for `home`; it would outlive the test process.
fn stop_agent(home: &Path) {
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home)
        .args(["--kill", "gpg-agent"])
        .status();
}

/// Signs `doc` into `sig` with a fresh key in its own keyring `home`.
fn sign_with_new_key(home: &Path, doc: &Path, sig: &Path) -> Result<()> {
    new_signing_key(home, "attacker <attacker@bankplatform.invalid>")?;
    std::fs::remove_file(sig)?;
    let signed = run(gpg(home)
        .args(["--no-auto-check-trustdb", "--detach-sign", "--output"])
        .arg(sig)
        .arg(doc));
    stop_agent(home);
    signed
}

/// Whether `sig` is a good signature of `doc` by the public key in `key_file`, checked in
/// a fresh keyring `ring` holding only that key.
fn verifies(ring: &Path, key_file: &Path, sig: &Path, doc: &Path) -> Result<bool> {
    std::fs::create_dir_all(ring)?;
    let verified = run(gpg(ring).arg("--import").arg(key_file)).and_then(|()| {
        Ok(gpg(ring)
            .arg("--verify")
            .arg(sig)
            .arg(doc)
            .output()?
            .status
            .success())
    });
    stop_agent(ring);
    verified
}

/// The `h1:` and `zh:` hashes the network mirror publishes for this platform.
fn network_hashes(release: &Path) -> Result<(String, String)> {
    let path = release.join(format!("mirror/network/{ORIGIN}/{VERSION}.json"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let hashes: Vec<String> = v["archives"]["linux_amd64"]["hashes"]
        .as_array()
        .with_context(|| format!("{}: no hashes", path.display()))?
        .iter()
        .filter_map(|h| h.as_str().map(str::to_string))
        .collect();
    let find = |prefix: &str| {
        hashes
            .iter()
            .find(|h| h.starts_with(prefix))
            .cloned()
            .with_context(|| format!("{}: no {prefix} hash", path.display()))
    };
    Ok((find("h1:")?, find("zh:")?))
}

/// A working directory holding the bucket example, whose Terraform installs the provider
/// through `channel` from the release's trees (or, with `tampered`, the attacker's), and
/// the provider source address the configuration uses.
fn terraform_for(
    p: &Published,
    version: TfVersion,
    channel: Channel,
    tampered: bool,
    label: &str,
) -> Result<(Terraform, String)> {
    static CONFIGS: AtomicUsize = AtomicUsize::new(0);
    let n = CONFIGS.fetch_add(1, Ordering::Relaxed);
    let mirror_root = if tampered {
        p.tampered.clone()
    } else {
        p.release.join("mirror")
    };
    let (source, installation) = match channel {
        Channel::PackedMirror | Channel::UnpackedMirror => {
            let layout = if matches!(channel, Channel::PackedMirror) {
                "packed"
            } else {
                "unpacked"
            };
            let path = mirror_root.join(layout);
            (
                ORIGIN.to_string(),
                format!(
                    "  filesystem_mirror {{\n    path    = {:?}\n    include = [\"{ORIGIN}\"]\n  }}\n",
                    path.display().to_string()
                ),
            )
        }
        Channel::NetworkMirror => {
            let server = if tampered { BAD_MIRROR } else { GOOD_MIRROR };
            (
                ORIGIN.to_string(),
                format!(
                    "  network_mirror {{\n    url     = \"{}/network/\"\n    include = [\"{ORIGIN}\"]\n  }}\n",
                    p.server.url(server)
                ),
            )
        }
        Channel::Registry => {
            let server = if tampered {
                BAD_REGISTRY
            } else {
                GOOD_REGISTRY
            };
            let source = format!("{}/bankplatform/bankplatform", p.server.host(server));
            let direct = format!("  direct {{\n    include = [\"{source}\"]\n  }}\n");
            (source, direct)
        }
    };
    std::fs::create_dir_all(p.root.join("cli-configs"))?;
    let cli_config = p.root.join(format!("cli-configs/{n}-{label}.tfrc"));
    std::fs::write(
        &cli_config,
        format!("disable_checkpoint = true\nprovider_installation {{\n{installation}}}\n"),
    )?;
    let (var, ca) = p.server.trust_env();
    let tf =
        Terraform::new(&tools::terraform(version)?, version, &cli_config, label)?.with_env(var, ca);
    let example =
        std::fs::read_to_string(tools::workspace_root().join("examples/compliant_bucket/main.tf"))?;
    ensure!(
        example.contains(&format!("\"{ORIGIN}\"")),
        "examples/compliant_bucket/main.tf no longer uses source {ORIGIN}"
    );
    tf.write_config(&example.replace(&format!("\"{ORIGIN}\""), &format!("\"{source}\"")))?;
    Ok((tf, source))
}

/// Installs through `channel`, checks the lock file, applies the bucket example on moto,
/// plans nothing, re-inits against the lock file, destroys.
async fn install_and_apply(version: TfVersion, channel: Channel) -> Result<()> {
    let p = published().await?;
    let endpoint = moto::endpoint().await?;
    let (tf, source) = terraform_for(p, version, channel, false, &format!("install-{channel:?}"))?;
    let init = tf.init().await?;
    let lock = std::fs::read_to_string(tf.dir().join(".terraform.lock.hcl"))
        .context("no lock file written")?;
    ensure!(
        lock.contains(&format!("provider \"{source}\"")) && lock.contains(&p.h1),
        "the lock file does not record {source} with the release's {}:\n{lock}",
        p.h1
    );
    if let Channel::Registry = channel {
        // The registry's download document carries the zip's sha256, recorded as zh:.
        ensure!(
            lock.contains(&p.zh),
            "the lock file lacks the registry's {}:\n{lock}",
            p.zh
        );
        ensure!(
            init.combined().contains("self-signed") || init.combined().contains("signed by"),
            "init did not report the signature check:\n{}",
            init.combined()
        );
        let log = p.server.access_log();
        let port = p.server.port(GOOD_REGISTRY);
        for path in [
            "/.well-known/terraform.json",
            "/v1/providers/bankplatform/bankplatform/versions",
            "/v1/providers/bankplatform/bankplatform/0.1.0/download/linux/amd64",
            "/v1/providers/bankplatform/bankplatform/0.1.0/terraform-provider-bankplatform_0.1.0_SHA256SUMS",
            "/v1/providers/bankplatform/bankplatform/0.1.0/terraform-provider-bankplatform_0.1.0_SHA256SUMS.sig",
            "/v1/providers/bankplatform/bankplatform/0.1.0/terraform-provider-bankplatform_0.1.0_linux_amd64.zip",
        ] {
            let line = format!("{port} 200 \"GET {path} ");
            ensure!(
                log.contains(&line),
                "the registry on port {port} never answered GET {path} with 200; nginx's access log:\n{log}"
            );
        }
    }
    let var = format!("-var=aws_endpoint={endpoint}");
    let aws = Aws::new().await?;
    let mut buckets = Vec::new();
    let result = async {
        tf.run(&["apply", "-input=false", "-no-color", "-auto-approve", &var])
            .await?;
        // The installed provider really built them: read back through S3.
        let state = tf.state_pull().await?;
        buckets = state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == "bankplatform_compliant_bucket")
            .filter_map(|r| r["instances"][0]["attributes"]["bucket"].as_str())
            .map(str::to_string)
            .collect();
        ensure!(
            buckets.len() == 2,
            "expected 2 buckets in state, found {buckets:?}"
        );
        for b in &buckets {
            ensure!(
                s3::bucket_exists(aws.s3(), b).await?,
                "bucket {b} is in the state but not in S3"
            );
        }
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
    for b in &buckets {
        ensure!(
            !s3::bucket_exists(aws.s3(), b).await?,
            "bucket {b} survived terraform destroy"
        );
    }
    Ok(())
}

/// `terraform init` through a tampered `channel` must fail with a message containing one
/// of `expected`. With `lock_from_good_init`, the lock file of a good install is in place
/// first (what a team has committed).
async fn init_must_fail(
    version: TfVersion,
    channel: Channel,
    lock_from_good_init: bool,
    expected: &[&str],
) -> Result<()> {
    let p = published().await?;
    let (bad, source) = terraform_for(p, version, channel, true, &format!("tampered-{channel:?}"))?;
    if lock_from_good_init {
        let (good, _) = terraform_for(p, version, channel, false, &format!("good-{channel:?}"))?;
        good.init().await?;
        std::fs::copy(
            good.dir().join(".terraform.lock.hcl"),
            bad.dir().join(".terraform.lock.hcl"),
        )?;
    }
    match bad.init().await {
        Ok(out) => bail!("init accepted a tampered package:\n{}", out.combined()),
        Err(e) => {
            let text = format!("{e:#}");
            // Terraform wraps its messages at 78 columns.
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let reason = expected
                .iter()
                .find(|m| flat.contains(*m))
                .with_context(|| {
                    format!("init failed, but not for the expected reason ({expected:?}):\n{text}")
                })?;
            eprintln!("[bp-acc] {channel:?}: init refused the tampered package: {reason}");
        }
    }
    let installed = bad
        .dir()
        .join(".terraform/providers")
        .join(&source)
        .join(VERSION);
    ensure!(
        !installed.exists(),
        "the tampered package was left installed in {}",
        installed.display()
    );
    Ok(())
}

macro_rules! for_both_versions {
    ($($name:ident => |$v:ident| $body:expr;)*) => {
        mod tf_1_15 {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> Result<()> {
                    skip_unless_acc!();
                    let $v = TfVersion::V1_15;
                    $body.await
                }
            )*
        }
        mod tf_1_0_3 {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> Result<()> {
                    skip_unless_acc!();
                    let $v = TfVersion::V1_0_3;
                    $body.await
                }
            )*
        }
    };
}

for_both_versions! {
    install_from_packed_filesystem_mirror => |v| install_and_apply(v, Channel::PackedMirror);
    install_from_unpacked_filesystem_mirror => |v| install_and_apply(v, Channel::UnpackedMirror);
    install_from_network_mirror_over_https => |v| install_and_apply(v, Channel::NetworkMirror);
    install_from_private_registry_over_https => |v| install_and_apply(v, Channel::Registry);
    packed_mirror_with_tampered_zip_fails_init_against_the_lock_file =>
        |v| init_must_fail(v, Channel::PackedMirror, true, &["doesn't match any of the checksums previously recorded in the dependency lock file"]);
    network_mirror_with_tampered_zip_fails_init =>
        |v| init_must_fail(v, Channel::NetworkMirror, false, &["doesn't match the any of the expected checksums"]);
    registry_signed_by_another_key_fails_init =>
        |v| init_must_fail(v, Channel::Registry, false, &["authentication signature from unknown issuer"]);
}

/// The SHA256SUMS signature verifies with the published key and fails once the file changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_signature_verifies_and_detects_tampering() -> Result<()> {
    skip_unless_acc!();
    let p = published().await?;
    let work = tempfile::tempdir()?;
    let sums = work.path().join(SUMS);
    std::fs::copy(p.release.join("dist").join(SUMS), &sums)?;
    let sig = p.release.join(format!("dist/{SUMS}.sig"));
    let key = p.release.join("dist/signing-key.asc");
    ensure!(
        verifies(&work.path().join("ring-1"), &key, &sig, &sums)?,
        "the release's signature does not verify with its published key"
    );
    let mut text = std::fs::read_to_string(&sums)?;
    text.push_str("0000000000000000000000000000000000000000000000000000000000000000  evil.zip\n");
    std::fs::write(&sums, text)?;
    ensure!(
        !verifies(&work.path().join("ring-2"), &key, &sig, &sums)?,
        "a tampered SHA256SUMS still verifies"
    );
    Ok(())
}

/// A bank's own release key, named by `BP_GPG_KEY_ID` in the keyring `GNUPGHOME`, signs
/// the release, and no throwaway key is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_signs_with_the_key_named_in_the_environment() -> Result<()> {
    skip_unless_acc!();
    let work = tempfile::tempdir()?;
    let bank_ring = work.path().join("bank-keyring");
    let key_id = new_signing_key(&bank_ring, "bank release key <release@bank.invalid>")?;
    let out = work.path().join("release");
    let binary = tools::provider_binary()?;
    let released = tokio::task::spawn_blocking({
        let (bank_ring, key_id, out) = (bank_ring.clone(), key_id.clone(), out.clone());
        move || {
            run(
                Command::new(tools::workspace_root().join("scripts/release.sh"))
                    .env("BP_GPG_KEY_ID", &key_id)
                    .env("GNUPGHOME", &bank_ring)
                    .arg("--out")
                    .arg(&out)
                    .arg("--binary")
                    .arg(&binary),
            )
        }
    })
    .await?;
    stop_agent(&bank_ring);
    released?;
    let published_id = std::fs::read_to_string(out.join("dist/signing-key.id"))?;
    ensure!(
        published_id.trim() == key_id,
        "signing-key.id is {published_id:?}, not the bank's key {key_id}"
    );
    ensure!(
        !out.join("gnupg").exists(),
        "a throwaway keyring was made although BP_GPG_KEY_ID was set"
    );
    let dist = out.join("dist");
    ensure!(
        verifies(
            &work.path().join("verify-ring"),
            &dist.join("signing-key.asc"),
            &dist.join(format!("{SUMS}.sig")),
            &dist.join(SUMS),
        )?,
        "the release is not signed by the bank's key"
    );
    Ok(())
}
