//! [`ProviderCtx`]: the configured provider, handed to every resource call as
//! its first argument. It builds SDK clients for a [`Target`] (the provider's
//! own account and region, or a role in another account, or another region)
//! once, and caches them, so that one provider process can manage a whole
//! multi-account layout instead of one process per alias.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use tokio::sync::OnceCell;

use super::config::ProviderSettings;
use super::errors::error_message;
use super::retry;
use crate::framework::StopSignal;

/// Where a resource lives: the provider's default, or another account (by
/// role) and/or region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Target {
    /// Role to assume (in another account) for this resource.
    pub assume_role_arn: Option<String>,
    /// Region for this resource.
    pub region: Option<String>,
}

/// SDK clients for one target, plus its (lazily fetched) account id. Cloning is
/// cheap (the SDK clients share their connections).
#[derive(Clone, Debug)]
pub struct Clients {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// KMS.
    pub kms: aws_sdk_kms::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Resource Groups Tagging: finds objects by tag across services (e.g. a key an
    /// interrupted create made but never aliased).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// CloudTrail.
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// CloudWatch (metrics and alarms).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// S3 Control (account-level S3 settings).
    pub s3control: aws_sdk_s3control::Client,
    /// IAM Access Analyzer.
    pub accessanalyzer: aws_sdk_accessanalyzer::Client,
    /// AWS Config.
    pub config: aws_sdk_config::Client,
    /// GuardDuty.
    pub guardduty: aws_sdk_guardduty::Client,
    /// Security Hub.
    pub securityhub: aws_sdk_securityhub::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Organizations (a global service, served from the partition's home Region).
    pub organizations: aws_sdk_organizations::Client,
    /// Effective region.
    pub region: String,
    /// Raised by StopProvider: long waits and multi-step applies stop early.
    pub stop: StopSignal,
    /// Attempts per request (the provider's `max_retries` + 1), for the calls the
    /// resources retry themselves (creates, see `resources/kit/calls.rs`).
    pub max_attempts: u32,
    account_id: OnceCell<String>,
    /// The probes the endpoint answered it lacks (`kit::calls::probing`).
    lacking: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

impl Clients {
    /// These clients in another Region: same account, credentials, endpoints and
    /// retry policy (a key's DR replica, a Region's copy of a setting).
    pub fn in_region(&self, region: &str) -> Clients {
        macro_rules! moved {
            ($($client:ident: $sdk:ident),*) => {
                Clients {
                    $($client: $sdk::Client::from_conf(
                        self.$client
                            .config()
                            .to_builder()
                            .region(Region::new(region.to_string()))
                            .build(),
                    ),)*
                    region: region.to_string(),
                    ..self.clone()
                }
            };
        }
        moved!(
            s3: aws_sdk_s3, kms: aws_sdk_kms, iam: aws_sdk_iam, sts: aws_sdk_sts,
            ec2: aws_sdk_ec2, logs: aws_sdk_cloudwatchlogs,
            tagging: aws_sdk_resourcegroupstagging, cloudtrail: aws_sdk_cloudtrail,
            cloudwatch: aws_sdk_cloudwatch, sns: aws_sdk_sns, s3control: aws_sdk_s3control,
            accessanalyzer: aws_sdk_accessanalyzer, config: aws_sdk_config,
            guardduty: aws_sdk_guardduty, securityhub: aws_sdk_securityhub,
            dynamodb: aws_sdk_dynamodb, organizations: aws_sdk_organizations
        )
    }

    /// These clients, for an operation with its own stop signal (its time limit).
    pub fn with_stop(&self, stop: StopSignal) -> Clients {
        Clients {
            stop,
            ..self.clone()
        }
    }

    /// The ARN of `resource` (`trail/x`, `log-group:y:*`) of `service` in these
    /// clients' partition, region and account.
    pub async fn arn(&self, service: &str, resource: &str) -> Result<String, String> {
        let account = self.account_id().await?;
        Ok(format!(
            "arn:{}:{service}:{}:{account}:{resource}",
            super::partition(&self.region),
            self.region
        ))
    }

    /// Whether the endpoint already answered that it lacks the API of probe `what`.
    pub(crate) fn lacks(&self, what: &str) -> bool {
        self.lacking.lock().expect("lacking lock").contains(what)
    }

    /// Remembers that the endpoint lacks the API of probe `what`.
    pub(crate) fn note_lacking(&self, what: &str) {
        self.lacking
            .lock()
            .expect("lacking lock")
            .insert(what.to_string());
    }

    /// The account these clients act in (STS GetCallerIdentity, once).
    pub async fn account_id(&self) -> Result<String, String> {
        self.account_id
            .get_or_try_init(|| async {
                let out =
                    self.sts.get_caller_identity().send().await.map_err(|e| {
                        format!("reading the caller identity: {}", error_message(&e))
                    })?;
                out.account
                    .ok_or_else(|| "STS GetCallerIdentity returned no account".to_string())
            })
            .await
            .cloned()
    }
}

/// Clients built once, on first use.
type ClientsCell = Arc<OnceCell<Arc<Clients>>>;

/// How patient a set of clients is with failing requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Budget {
    /// The provider's `max_retries`: creates, updates, reads, deletes.
    Apply,
    /// Twice as many attempts, for the rollback of a failed create: giving up there
    /// leaves objects behind, so it waits out throttling an apply would not.
    Rollback,
}

/// The configured provider.
pub struct ProviderCtx {
    settings: ProviderSettings,
    base: SdkConfig,
    cache: Mutex<HashMap<(Target, Budget), ClientsCell>>,
    /// Raised by StopProvider.
    pub stop: StopSignal,
}

impl std::fmt::Debug for ProviderCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCtx")
            .field("region", &self.base.region())
            .finish_non_exhaustive()
    }
}

const DEFAULT_SESSION_NAME: &str = "terraform-provider-bankplatform";

impl ProviderCtx {
    /// Loads the base AWS configuration (environment, profile, explicit
    /// settings). Does not call AWS: credentials are resolved on first use.
    pub async fn new(settings: ProviderSettings, stop: StopSignal) -> Result<ProviderCtx, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &settings.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some((ak, sk, tok)) = &settings.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                ak.clone(),
                sk.clone(),
                tok.clone(),
                None,
                "provider-config",
            ));
        }
        if let Some(url) = &settings.endpoint_all {
            loader = loader.endpoint_url(url.clone());
        }
        loader = loader.retry_config(retry::retry_config(settings.max_attempts));
        let mut base = loader.load().await;
        if base.region().is_none() {
            return Err(
                "no AWS region is configured: set `region` in the provider block or AWS_REGION"
                    .into(),
            );
        }
        if let Some((arn, session, external_id)) = &settings.assume_role {
            let creds = assume_role(
                &base,
                &settings,
                arn,
                session.as_deref(),
                external_id.as_deref(),
                None,
            )
            .await;
            base = base.into_builder().credentials_provider(creds).build();
        }
        Ok(ProviderCtx {
            settings,
            base,
            cache: Mutex::new(HashMap::new()),
            stop,
        })
    }

    /// The provider's `default_tags`.
    pub fn default_tags(&self) -> &BTreeMap<String, String> {
        &self.settings.default_tags
    }

    /// The provider's default region.
    pub fn region(&self) -> String {
        self.base
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// Clients for a target, built once per (role, region) and shared.
    pub async fn clients(&self, target: &Target) -> Result<Arc<Clients>, String> {
        self.clients_with(target, Budget::Apply).await
    }

    /// Clients for a target with a retry `budget`, built once per (role, region,
    /// budget) and shared.
    pub async fn clients_with(
        &self,
        target: &Target,
        budget: Budget,
    ) -> Result<Arc<Clients>, String> {
        let cell = {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| "client cache poisoned".to_string())?;
            cache.entry((target.clone(), budget)).or_default().clone()
        };
        cell.get_or_try_init(|| async { self.build_clients(target, budget).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Attempts per request under `budget`.
    fn attempts(&self, budget: Budget) -> u32 {
        let apply = self
            .settings
            .max_attempts
            .unwrap_or(retry::DEFAULT_MAX_RETRIES + 1);
        match budget {
            Budget::Apply => apply,
            Budget::Rollback => retry::rollback_attempts(apply),
        }
    }

    async fn build_clients(&self, target: &Target, budget: Budget) -> Result<Clients, String> {
        let attempts = self.attempts(budget);
        let mut conf = self
            .base
            .clone()
            .into_builder()
            .retry_config(retry::retry_config(Some(attempts)))
            .build();
        if let Some(r) = &target.region {
            conf = conf.into_builder().region(Region::new(r.clone())).build();
        }
        if let Some(arn) = &target.assume_role_arn {
            let creds = assume_role(
                &conf,
                &self.settings,
                arn,
                None,
                None,
                target.region.clone(),
            )
            .await;
            conf = conf.into_builder().credentials_provider(creds).build();
        }
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let s = &self.settings;

        let mut s3 =
            aws_sdk_s3::config::Builder::from(&conf).retry_partition(retry::retry_partition());
        if let Some(url) = s.endpoint_for("s3") {
            s3 = s3.endpoint_url(url);
        }
        let path_style = s
            .s3_use_path_style
            .unwrap_or(s.endpoint_for("s3").is_some());
        s3 = s3.force_path_style(path_style);

        // Every other client: the shared config, the shared retry partition, and the
        // service's endpoint override.
        macro_rules! client {
            ($sdk:ident, $service:literal) => {{
                let mut b =
                    $sdk::config::Builder::from(&conf).retry_partition(retry::retry_partition());
                if let Some(url) = s.endpoint_for($service) {
                    b = b.endpoint_url(url);
                }
                $sdk::Client::from_conf(b.build())
            }};
        }
        Ok(Clients {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            kms: client!(aws_sdk_kms, "kms"),
            iam: client!(aws_sdk_iam, "iam"),
            sts: client!(aws_sdk_sts, "sts"),
            ec2: client!(aws_sdk_ec2, "ec2"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            tagging: client!(aws_sdk_resourcegroupstagging, "tagging"),
            cloudtrail: client!(aws_sdk_cloudtrail, "cloudtrail"),
            cloudwatch: client!(aws_sdk_cloudwatch, "cloudwatch"),
            sns: client!(aws_sdk_sns, "sns"),
            s3control: {
                let mut b = aws_sdk_s3control::config::Builder::from(&conf)
                    .retry_partition(retry::retry_partition());
                if let Some(url) = s.endpoint_for("s3control") {
                    // An emulator cannot resolve the account-prefixed host.
                    b = b
                        .endpoint_url(url)
                        .interceptor(super::s3control_host::StripAccountHost);
                }
                aws_sdk_s3control::Client::from_conf(b.build())
            },
            accessanalyzer: client!(aws_sdk_accessanalyzer, "accessanalyzer"),
            config: client!(aws_sdk_config, "config"),
            guardduty: client!(aws_sdk_guardduty, "guardduty"),
            securityhub: client!(aws_sdk_securityhub, "securityhub"),
            dynamodb: client!(aws_sdk_dynamodb, "dynamodb"),
            organizations: client!(aws_sdk_organizations, "organizations"),
            region,
            stop: self.stop.clone(),
            max_attempts: attempts,
            account_id: OnceCell::new(),
            lacking: Arc::default(),
        })
    }
}

async fn assume_role(
    conf: &SdkConfig,
    settings: &ProviderSettings,
    role_arn: &str,
    session_name: Option<&str>,
    external_id: Option<&str>,
    region: Option<String>,
) -> SharedCredentialsProvider {
    let mut sts_conf = conf.clone();
    if let Some(url) = settings.endpoints.get("sts") {
        sts_conf = sts_conf.into_builder().endpoint_url(url.clone()).build();
    }
    let mut b = AssumeRoleProvider::builder(role_arn)
        .session_name(session_name.unwrap_or(DEFAULT_SESSION_NAME))
        .configure(&sts_conf);
    if let Some(id) = external_id {
        b = b.external_id(id);
    }
    if let Some(r) = region {
        b = b.region(Region::new(r));
    }
    SharedCredentialsProvider::new(b.build().await)
}
