//! The settings of an account baseline, one function per child: read them all, put
//! each one, take each one back. Every put is idempotent, so a create killed half-way
//! is finished by the next apply without adoption rules.

use aws_sdk_iam::types::PasswordPolicy;

use crate::aws::{error_code, error_message, is_not_found, partition, Clients};
use crate::resources::kit::calls::{few_retries, probing, unsupported, GoneIsDone};
use crate::resources::kms::key_policy::KeyPolicy;
use crate::resources::kms::managed_key;

/// The name of the account analyzer the baseline creates.
pub(crate) const ANALYZER: &str = "bankplatform-account";
/// The alias of the EBS default key the baseline creates.
pub(crate) const EBS_KEY_ALIAS: &str = "alias/bankplatform/ebs-default";

/// The password policy asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Passwords {
    pub(crate) minimum_length: i32,
    pub(crate) reuse_prevention: i32,
    pub(crate) max_age_days: i32,
}

/// What the account reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    /// Whether the account-wide settings (password policy, S3 block) were read:
    /// the baseline owns them (`account_wide`).
    pub(crate) account_wide: bool,
    pub(crate) passwords: Option<PasswordPolicy>,
    pub(crate) ebs_encrypted: bool,
    /// The default EBS key; `None` when the endpoint cannot say (the emulator
    /// lacks GetEbsDefaultKmsKeyId).
    pub(crate) ebs_key: Option<String>,
    /// All four account-level public access block switches.
    pub(crate) s3_blocked: Option<bool>,
    /// `Some(active)`; `None` when the endpoint has no Access Analyzer API.
    pub(crate) analyzer_active: Option<bool>,
    /// Root user access keys present (GetAccountSummary).
    pub(crate) root_keys: Option<bool>,
}

impl Observed {
    /// Nothing the baseline sets is in place: the baseline is gone.
    pub(crate) fn is_bare(&self) -> bool {
        self.passwords.is_none() && !self.ebs_encrypted && self.s3_blocked != Some(true)
    }
}

/// Access Analyzer calls retry a few times only: an endpoint without the service (the
/// emulator) answers 500 with a web page, which must not cost 25 retries.
fn probe() -> aws_sdk_accessanalyzer::config::Builder {
    aws_sdk_accessanalyzer::config::Builder::new().retry_config(few_retries())
}

/// Reads every setting, concurrently (the account-wide ones only when `account_wide`).
pub(crate) async fn observe(c: &Clients, account_wide: bool) -> Result<Observed, String> {
    let account = c.account_id().await?;
    // The account-wide settings are read only by the baseline that owns them.
    let (pw, ebs, key, pab, analyzers, summary) = tokio::join!(
        async {
            match account_wide {
                true => Some(c.iam.get_account_password_policy().send().await),
                false => None,
            }
        },
        c.ec2.get_ebs_encryption_by_default().send(),
        c.ec2
            .get_ebs_default_kms_key_id()
            .customize()
            .config_override(
                aws_sdk_ec2::config::Builder::new()
                    .retry_config(crate::resources::kit::calls::no_retries())
            )
            .send(),
        async {
            match account_wide {
                true => Some(
                    c.s3control
                        .get_public_access_block()
                        .account_id(&account)
                        .send()
                        .await,
                ),
                false => None,
            }
        },
        probing(c, "reading IAM Access Analyzer", || c
            .accessanalyzer
            .list_analyzers()
            .r#type(aws_sdk_accessanalyzer::types::Type::Account)
            .customize()
            .config_override(probe())
            .send()),
        c.iam.get_account_summary().send(),
    );
    let mut o = Observed {
        account_wide,
        ..Observed::default()
    };
    o.passwords = match pw {
        None => None,
        Some(Ok(p)) => p.password_policy,
        Some(Err(e)) if is_not_found(&e) => None,
        Some(Err(e)) => {
            return Err(format!(
                "reading the account password policy: {}",
                error_message(&e)
            ))
        }
    };
    o.ebs_encrypted = ebs
        .map_err(|e| format!("reading EBS encryption by default: {}", error_message(&e)))?
        .ebs_encryption_by_default
        .unwrap_or(false);
    // The emulator answers 500 NotImplemented here: what cannot be read is left out.
    o.ebs_key = key.ok().and_then(|k| k.kms_key_id);
    o.s3_blocked = match pab {
        None => None,
        Some(Ok(p)) => Some(p.public_access_block_configuration.is_some_and(|c| {
            c.block_public_acls == Some(true)
                && c.ignore_public_acls == Some(true)
                && c.block_public_policy == Some(true)
                && c.restrict_public_buckets == Some(true)
        })),
        // NoSuchPublicAccessBlockConfiguration is a not-found code.
        Some(Err(e)) if is_not_found(&e) => Some(false),
        Some(Err(e)) => {
            return Err(format!(
                "reading the S3 account public access block: {}",
                error_message(&e)
            ))
        }
    };
    o.analyzer_active = match analyzers {
        Ok(a) => Some(
            a.analyzers()
                .iter()
                .any(|a| a.name() == ANALYZER && a.status().as_str() == "ACTIVE"),
        ),
        Err(e) if unsupported(&e) => None,
        Err(e) => {
            return Err(format!(
                "reading IAM Access Analyzer: {}",
                error_message(&e)
            ))
        }
    };
    o.root_keys = summary
        .ok()
        .and_then(|s| s.summary_map)
        .and_then(|m| {
            m.get(&aws_sdk_iam::types::SummaryKeyType::AccountAccessKeysPresent)
                .copied()
        })
        .map(|n| n > 0);
    Ok(o)
}

/// Puts the password policy.
pub(crate) async fn put_passwords(c: &Clients, p: &Passwords) -> Result<(), String> {
    c.iam
        .update_account_password_policy()
        .minimum_password_length(p.minimum_length)
        .password_reuse_prevention(p.reuse_prevention)
        .max_password_age(p.max_age_days)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .require_numbers(true)
        .require_symbols(true)
        .allow_users_to_change_password(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("writing the account password policy: {}", error_message(&e)))
}

/// The EBS default key: the one brought, the managed one found by its alias, or a new one.
pub(crate) async fn ensure_ebs_key(
    c: &Clients,
    brought: Option<&str>,
    tags: &[(String, String)],
) -> Result<String, String> {
    if let Some(k) = brought {
        return Ok(k.to_string());
    }
    if let Some(k) = managed_key::find(c, EBS_KEY_ALIAS).await? {
        return managed_key::reuse(c, k).await;
    }
    let account = c.account_id().await?;
    let policy = KeyPolicy {
        partition: partition(&c.region),
        region: &c.region,
        account: &account,
        purpose: "ebs",
        administrators: &[],
        users: &[],
        source_accounts: &[],
        source_arns: &[],
        publishers: &[],
        extra: &[],
    }
    .document();
    managed_key::create(
        c,
        EBS_KEY_ALIAS,
        "EBS default encryption (bankplatform)",
        tags,
        Some(policy.to_string()),
        false,
    )
    .await
}

/// Turns EBS encryption by default on, with `key` as the default key.
pub(crate) async fn encrypt_ebs(c: &Clients, key: &str) -> Result<(), String> {
    c.ec2
        .modify_ebs_default_kms_key_id()
        .kms_key_id(key)
        .send()
        .await
        .map_err(|e| format!("setting the EBS default key: {}", error_message(&e)))?;
    c.ec2
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "turning EBS encryption by default on: {}",
                error_message(&e)
            )
        })
}

/// Blocks public access to every bucket of the account.
pub(crate) async fn block_s3(c: &Clients) -> Result<(), String> {
    let account = c.account_id().await?;
    c.s3control
        .put_public_access_block()
        .account_id(&account)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "writing the S3 account public access block: {}",
                error_message(&e)
            )
        })
}

/// Creates the account analyzer. `Ok(false)` when the endpoint has no Access Analyzer
/// API (an emulator): requested, and reported as not confirmed.
pub(crate) async fn ensure_analyzer(c: &Clients) -> Result<bool, String> {
    // Safe to send again: an existing analyzer answers ConflictException.
    let sent = probing(c, "creating IAM Access Analyzer", || {
        c.accessanalyzer
            .create_analyzer()
            .analyzer_name(ANALYZER)
            .r#type(aws_sdk_accessanalyzer::types::Type::Account)
            .customize()
            .config_override(probe())
            .send()
    })
    .await;
    match sent {
        Ok(_) => Ok(true),
        Err(e) if error_code(&e) == Some("ConflictException") => Ok(true),
        Err(e) if unsupported(&e) => Ok(false),
        Err(e) => Err(format!(
            "creating IAM Access Analyzer {ANALYZER}: {}",
            error_message(&e)
        )),
    }
}

/// Takes every setting back to the account's defaults (the account-wide ones only
/// when `account_wide`); already gone is done.
pub(crate) async fn remove(
    c: &Clients,
    account_wide: bool,
    managed_key: Option<&str>,
) -> Vec<String> {
    let account = match c.account_id().await {
        Ok(a) => a,
        Err(e) => return vec![e],
    };
    let (pw, ebs, pab, analyzer) = tokio::join!(
        async {
            if !account_wide {
                return Ok(());
            }
            c.iam
                .delete_account_password_policy()
                .send()
                .await
                .gone_is_done("deleting the account password policy")
        },
        async {
            c.ec2
                .disable_ebs_encryption_by_default()
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "turning EBS encryption by default off: {}",
                        error_message(&e)
                    )
                })?;
            // Back to the AWS-managed default key before the managed one is retired
            // (an endpoint without ResetEbsDefaultKmsKeyId, the emulator, keeps it:
            // encryption by default is off anyway).
            // A probe (moto lacks the API): few SDK attempts for its 500 page, but
            // as patient as any call while throttled (it is safe to send again).
            match probing(c, "resetting the EBS default key", || {
                c.ec2
                    .reset_ebs_default_kms_key_id()
                    .customize()
                    .config_override(
                        aws_sdk_ec2::config::Builder::new().retry_config(few_retries()),
                    )
                    .send()
            })
            .await
            {
                Ok(_) => {}
                Err(e) if unsupported(&e) => {
                    tracing::warn!("the endpoint cannot reset the EBS default key; encryption by default is off")
                }
                Err(e) => {
                    return Err(format!(
                        "resetting the EBS default key: {}",
                        error_message(&e)
                    ))
                }
            }
            match managed_key {
                Some(k) => managed_key::retire(c, EBS_KEY_ALIAS, k).await,
                None => Ok(()),
            }
        },
        async {
            if !account_wide {
                return Ok(());
            }
            c.s3control
                .delete_public_access_block()
                .account_id(&account)
                .send()
                .await
                .gone_is_done("deleting the S3 account public access block")
        },
        async {
            match probing(c, "deleting IAM Access Analyzer", || {
                c.accessanalyzer
                    .delete_analyzer()
                    .analyzer_name(ANALYZER)
                    .customize()
                    .config_override(probe())
                    .send()
            })
            .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) || unsupported(&e) => Ok(()),
                Err(e) => Err(format!(
                    "deleting IAM Access Analyzer {ANALYZER}: {}",
                    error_message(&e)
                )),
            }
        },
    );
    [pw, ebs, pab, analyzer]
        .into_iter()
        .filter_map(Result::err)
        .collect()
}

/// The managed EBS key, if one exists.
pub(crate) async fn find_ebs_key(c: &Clients) -> Result<Option<String>, String> {
    managed_key::find(c, EBS_KEY_ALIAS).await
}
