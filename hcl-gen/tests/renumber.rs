//! `generate` never silently moves a network that may be applied: removing an environment
//! shifts the supernet slots of the ones declared after it, which would replace their
//! VPCs. The command refuses, names each network with the pin that keeps it, writes
//! nothing; pinning (or `--allow-renumber`) lets it through.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn gen(spec: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bankplatform-gen"))
        .arg("generate")
        .arg("--spec")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("running bankplatform-gen")
}

fn cidr(out: &Path, account: &str, region: &str) -> String {
    let text =
        std::fs::read_to_string(out.join(format!("live/{account}/{region}/network/main.tf")))
            .unwrap();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            (k.trim() == "cidr_block").then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap()
}

/// Removes the `<kind> "<name>" { ... }` block (no nested braces in the example's).
fn remove_block(spec: &str, kind: &str, name: &str) -> String {
    let start = spec
        .find(&format!("{kind} \"{name}\" {{"))
        .unwrap_or_else(|| panic!("no {kind} {name}"));
    let end = start + spec[start..].find("\n}\n").unwrap() + 3;
    format!("{}{}", &spec[..start], &spec[end..])
}

#[test]
fn removing_an_environment_does_not_silently_move_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("platform.hcl");
    let out = dir.path().join("out");
    let original = std::fs::read_to_string(common::example_spec()).unwrap();
    std::fs::write(&spec, &original).unwrap();
    let first = gen(&spec, &out, &[]);
    assert!(first.status.success(), "{first:?}");
    let test_primary = cidr(&out, "testing", "eu-west-1");
    let test_dr = cidr(&out, "testing", "eu-central-1");
    let prod_primary = cidr(&out, "production", "eu-west-1");
    let prod_dr = cidr(&out, "production", "eu-central-1");

    // Retire the dev environment and its account.
    let without_dev = remove_block(
        &remove_block(&original, "environment", "dev"),
        "account",
        "development",
    );
    std::fs::write(&spec, &without_dev).unwrap();
    let refused = gen(&spec, &out, &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "generate renumbered silently");
    assert!(stderr.contains("refusing to renumber"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "environment \"test\" {{ network {{ cidr = \"{test_primary}\" }} }}"
        )),
        "the error does not give the pin that keeps test's network:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "environment \"prod\" {{ network {{ secondary_cidr = \"{prod_dr}\" }} }}"
        )),
        "the error does not give the pin that keeps prod's DR network:\n{stderr}"
    );
    assert_eq!(
        cidr(&out, "testing", "eu-west-1"),
        test_primary,
        "a refused generate wrote files"
    );
    assert!(
        out.join("live/development").exists(),
        "a refused generate deleted files"
    );

    // Pinned as the message says, the remaining networks stay where they are.
    let pinned = without_dev
        .replace(
            "environment \"test\" {\n",
            &format!(
                "environment \"test\" {{\n  network {{\n    cidr           = \"{test_primary}\"\n    secondary_cidr = \"{test_dr}\"\n  }}\n"
            ),
        )
        .replace(
            "environment \"prod\" {\n",
            &format!(
                "environment \"prod\" {{\n  network {{\n    cidr           = \"{prod_primary}\"\n    secondary_cidr = \"{prod_dr}\"\n  }}\n"
            ),
        );
    std::fs::write(&spec, &pinned).unwrap();
    let ok = gen(&spec, &out, &[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(cidr(&out, "testing", "eu-west-1"), test_primary);
    assert_eq!(cidr(&out, "production", "eu-central-1"), prod_dr);
    assert!(!out
        .join("live/development/eu-west-1/network/main.tf")
        .exists());

    // --allow-renumber is the explicit way through for networks never applied.
    std::fs::write(&spec, &original).unwrap();
    gen(&spec, &out, &[]);
    std::fs::write(&spec, &without_dev).unwrap();
    let forced = gen(&spec, &out, &["--allow-renumber"]);
    assert!(forced.status.success(), "{forced:?}");
    assert_ne!(cidr(&out, "testing", "eu-west-1"), test_primary);
}
