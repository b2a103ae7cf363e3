//! The acceptance-test harness for `terraform-provider-bankplatform`.
//!
//! The tests in `tests/` drive the real Terraform CLI (1.15, or 1.0.3 where a test asks
//! for it) against a real `moto_server`, with the provider installed from a filesystem
//! mirror, exactly as a user would install it. Nothing is mocked. The model is
//! terraform-plugin-testing's: a [`TestCase`] is a list of [`Step`]s, each either a
//! config step (plan, apply, then an empty non-refresh plan and an empty refresh plan)
//! or an import step (import into a fresh working directory and compare attributes),
//! followed by `terraform destroy` and a `check_destroy` hook.
//!
//! Modules, from the bottom up:
//! - [`tools`] finds Terraform, `moto_server` and the provider binary (built once);
//! - [`daemon`] keeps server processes alive exactly as long as the test process;
//! - [`moto`] starts one shared `moto_server` per test process;
//! - [`fault_proxy`] sits between the provider and moto and injects AWS's everyday faults;
//! - [`https_server`] serves directories over HTTPS with Debian's nginx (mirrors, registry);
//! - [`mirror`] lays the provider out as a filesystem mirror and writes the CLI config;
//! - [`terraform`] runs Terraform commands in one working directory;
//! - [`step`] is the test-case model and its runner;
//! - [`aws`] builds SDK clients for moto, also inside other accounts;
//! - [`checks`] reads buckets, keys and roles back through the AWS API.
//!
//! Tests are skipped unless `TF_ACC` is set to a non-empty value; see [`skip_unless_acc!`].

pub mod aws;
pub mod checks;
pub mod daemon;
pub mod fault_cases;
pub mod fault_proxy;
pub mod https_server;
pub mod mirror;
pub mod moto;
pub mod step;
pub mod suite;
pub mod terraform;
pub mod tools;

pub use aws::Aws;
pub use step::{
    check, expect_error, provider_block, provider_block_in_account, Action, Check, ImportId,
    ImportStep, PlanCheck, Step, StepCtx, TestCase,
};
pub use tools::TfVersion;

use rand::Rng;

/// The message printed by [`skip_unless_acc!`], worded as terraform-plugin-testing words it.
pub const SKIP_MESSAGE: &str = "Acceptance tests skipped unless env 'TF_ACC' set";

/// Whether acceptance tests run: `TF_ACC` is set and not empty.
pub fn acc_enabled() -> bool {
    std::env::var_os("TF_ACC").is_some_and(|v| !v.is_empty())
}

/// Returns early from a test unless `TF_ACC` is set, printing why.
///
/// It works in tests returning `()` and in tests returning `anyhow::Result<()>`.
#[macro_export]
macro_rules! skip_unless_acc {
    () => {
        if !$crate::acc_enabled() {
            eprintln!("{}", $crate::SKIP_MESSAGE);
            return $crate::Skipped::skipped();
        }
    };
}

/// The value a skipped test returns; implemented for the return types tests use.
pub trait Skipped {
    /// The "nothing happened" value of this type.
    fn skipped() -> Self;
}

impl Skipped for () {
    fn skipped() -> Self {}
}

impl<E> Skipped for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// A unique resource name: `bp-acc-<short>-<8 random lowercase letters or digits>`.
///
/// The result is a valid S3 bucket name, so `short` must be lowercase letters, digits or
/// hyphens, and short enough for the whole name to fit in 63 characters.
pub fn random_name(short: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    let name = format!("bp-acc-{short}-{suffix}");
    assert!(
        name.len() <= 63
            && short
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "random_name({short:?}) would not be a valid S3 bucket name: {name}"
    );
    name
}

/// A random 12-digit AWS account id, never moto's default account 123456789012.
pub fn random_account_id() -> String {
    let mut rng = rand::rng();
    loop {
        let id = format!(
            "{}",
            rng.random_range(100_000_000_000u64..1_000_000_000_000u64)
        );
        if id != aws::DEFAULT_ACCOUNT_ID {
            return id;
        }
    }
}
