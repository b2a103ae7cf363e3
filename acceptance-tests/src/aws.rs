//! AWS SDK clients pointed at moto, for reading resources back in checks.
//!
//! Clients use the moto endpoint, region us-east-1, static credentials `test`/`test`,
//! path-style S3 addressing and no retries (moto answers unimplemented calls with HTTP
//! 500, which the SDK would otherwise retry). [`Aws::in_account`] assumes
//! `OrganizationAccountAccessRole` in another account through moto's STS; moto emulates
//! accounts for real (each has its own buckets and keys) and accepts the role whether or
//! not it exists.
//!
//! An [`Aws`] belongs to one test case: SDK clients hold connection pools bound to the
//! tokio runtime that created them, and each `#[tokio::test]` has its own runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

use crate::moto;

/// moto's default account: the one the provider's own credentials land in.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// The region every client and every test uses.
pub const REGION: &str = "us-east-1";

/// SDK clients for one moto account.
#[derive(Clone)]
pub struct Aws {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: String,
    account_id: String,
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    ec2: aws_sdk_ec2::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    s3control: aws_sdk_s3control::Client,
    config: aws_sdk_config::Client,
    guardduty: aws_sdk_guardduty::Client,
    securityhub: aws_sdk_securityhub::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    organizations: aws_sdk_organizations::Client,
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    // Clients for other accounts, by account id; only the default account's `Aws` fills it.
    accounts: Mutex<HashMap<String, Aws>>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("endpoint", &self.inner.endpoint)
            .field("account_id", &self.inner.account_id)
            .finish_non_exhaustive()
    }
}

impl Aws {
    /// Clients for moto's default account, starting moto if needed.
    pub async fn new() -> Result<Self> {
        let endpoint = moto::endpoint().await?;
        Ok(Self::for_endpoint(&endpoint))
    }

    /// Clients for moto's default account at `endpoint`.
    pub fn for_endpoint(endpoint: &str) -> Self {
        Self::build(
            endpoint,
            DEFAULT_ACCOUNT_ID,
            Credentials::new("test", "test", None, None, "bp-acc"),
        )
    }

    fn build(endpoint: &str, account_id: &str, credentials: Credentials) -> Self {
        let config = aws_types::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        Self {
            inner: Arc::new(Inner {
                endpoint: endpoint.to_string(),
                account_id: account_id.to_string(),
                s3,
                kms: aws_sdk_kms::Client::new(&config),
                ec2: aws_sdk_ec2::Client::new(&config),
                logs: aws_sdk_cloudwatchlogs::Client::new(&config),
                cloudtrail: aws_sdk_cloudtrail::Client::new(&config),
                cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
                sns: aws_sdk_sns::Client::new(&config),
                config: aws_sdk_config::Client::new(&config),
                guardduty: aws_sdk_guardduty::Client::new(&config),
                securityhub: aws_sdk_securityhub::Client::new(&config),
                dynamodb: aws_sdk_dynamodb::Client::new(&config),
                organizations: aws_sdk_organizations::Client::new(&config),
                events: aws_sdk_eventbridge::Client::new(&config),
                sqs: aws_sdk_sqs::Client::new(&config),
                s3control: aws_sdk_s3control::Client::from_conf(
                    aws_sdk_s3control::config::Builder::from(&config)
                        .endpoint_resolver(PlainEndpoint(endpoint.to_string()))
                        .build(),
                ),
                iam: aws_sdk_iam::Client::new(&config),
                sts: aws_sdk_sts::Client::new(&config),
                accounts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The moto endpoint these clients call.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The account these clients act in.
    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// The S3 client (path-style addressing).
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.inner.s3
    }

    /// EC2.
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.inner.ec2
    }

    /// CloudWatch Logs.
    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        &self.inner.logs
    }

    /// CloudTrail.
    pub fn cloudtrail(&self) -> &aws_sdk_cloudtrail::Client {
        &self.inner.cloudtrail
    }

    /// CloudWatch (metrics, alarms).
    pub fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        &self.inner.cloudwatch
    }

    /// GuardDuty.
    pub fn guardduty(&self) -> &aws_sdk_guardduty::Client {
        &self.inner.guardduty
    }

    /// Security Hub.
    pub fn securityhub(&self) -> &aws_sdk_securityhub::Client {
        &self.inner.securityhub
    }

    /// AWS Config.
    pub fn config(&self) -> &aws_sdk_config::Client {
        &self.inner.config
    }

    /// S3 Control (account-level S3 settings).
    pub fn s3control(&self) -> &aws_sdk_s3control::Client {
        &self.inner.s3control
    }

    /// SNS.
    pub fn sns(&self) -> &aws_sdk_sns::Client {
        &self.inner.sns
    }

    /// DynamoDB.
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.dynamodb
    }

    /// Organizations.
    pub fn organizations(&self) -> &aws_sdk_organizations::Client {
        &self.inner.organizations
    }

    /// EventBridge.
    pub fn events(&self) -> &aws_sdk_eventbridge::Client {
        &self.inner.events
    }

    /// SQS.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.inner.sqs
    }

    /// KMS.
    pub fn kms(&self) -> &aws_sdk_kms::Client {
        &self.inner.kms
    }

    /// The IAM client.
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        &self.inner.iam
    }

    /// The STS client.
    pub fn sts(&self) -> &aws_sdk_sts::Client {
        &self.inner.sts
    }

    /// Clients acting in `account_id`, through STS AssumeRole of
    /// `arn:aws:iam::<account_id>:role/OrganizationAccountAccessRole`. Cached per account.
    pub async fn in_account(&self, account_id: &str) -> Result<Aws> {
        if account_id == self.account_id() {
            return Ok(self.clone());
        }
        if let Some(aws) = self.cached(account_id) {
            return Ok(aws);
        }
        let role_arn = format!("arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole");
        let out = self
            .sts()
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("bp-acc")
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sts::error::DisplayErrorContext(e)))
            .with_context(|| format!("AssumeRole {role_arn}"))?;
        let creds = out
            .credentials
            .with_context(|| format!("AssumeRole {role_arn} returned no credentials"))?;
        let aws = Self::build(
            self.endpoint(),
            account_id,
            Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "bp-acc-assumed",
            ),
        );
        self.inner
            .accounts
            .lock()
            .expect("account cache lock")
            .entry(account_id.to_string())
            .or_insert(aws.clone());
        Ok(aws)
    }

    fn cached(&self, account_id: &str) -> Option<Aws> {
        self.inner
            .accounts
            .lock()
            .expect("account cache lock")
            .get(account_id)
            .cloned()
    }

    /// The account the clients' credentials belong to, according to STS.
    pub async fn caller_account(&self) -> Result<String> {
        let out = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sts::error::DisplayErrorContext(e)))
            .context("GetCallerIdentity")?;
        out.account.context("GetCallerIdentity returned no account")
    }
}

/// S3 Control's endpoint rules put the account id in front of the host
/// (`123456789012.127.0.0.1`), which resolves nowhere; moto routes on the path and
/// reads the account from the `x-amz-account-id` header. The tests resolve every
/// S3 Control request to moto's plain endpoint.
#[derive(Debug)]
struct PlainEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for PlainEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_smithy_runtime_api::client::endpoint::EndpointFuture<'a> {
        aws_smithy_runtime_api::client::endpoint::EndpointFuture::ready(Ok(
            aws_smithy_types::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}
