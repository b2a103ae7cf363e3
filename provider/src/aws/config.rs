//! `provider "bankplatform" { ... }`: its schema and how its value becomes
//! [`ProviderSettings`]. Every setting can also come from the usual AWS
//! environment variables (`AWS_REGION`, `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`,
//! `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, ...), which `aws-config` reads.

use std::collections::BTreeMap;

use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::{Diagnostics, Schema};
use crate::value::{AttrPath, Type, Value};

/// Services whose endpoint can be overridden one by one.
pub(crate) const ENDPOINT_SERVICES: &[&str] = &[
    "s3",
    "kms",
    "iam",
    "sts",
    "ec2",
    "logs",
    "tagging",
    "cloudtrail",
    "cloudwatch",
    "sns",
    "s3control",
    "accessanalyzer",
    "config",
    "guardduty",
    "securityhub",
    "dynamodb",
    "organizations",
];

/// The provider configuration schema (blocks, as in the AWS provider).
pub fn provider_schema() -> Schema {
    let mut endpoint_attrs = vec![Attribute::string("all").optional().describe(
        "One endpoint URL for every service (e.g. a local AWS emulator). Same as `endpoint_url`.",
    )];
    for s in ENDPOINT_SERVICES {
        endpoint_attrs.push(
            Attribute::string(s)
                .optional()
                .describe("Endpoint URL for this service only (e.g. a VPC interface endpoint)."),
        );
    }
    Schema {
        version: 0,
        block: Block {
            description: "Configures AWS access for bankplatform resources. Credentials follow the standard AWS chain (environment, shared config and profile, web identity, container and instance roles) unless static keys are given.".into(),
            attributes: vec![
                Attribute::string("region").optional().describe("AWS region, e.g. `eu-west-1`. Defaults to `AWS_REGION` / the profile's region."),
                Attribute::string("profile").optional().describe("Named profile from the shared config and credentials files."),
                Attribute::string("access_key").optional().sensitive().describe("Static access key id. Prefer the credential chain."),
                Attribute::string("secret_key").optional().sensitive().describe("Static secret access key."),
                Attribute::string("token").optional().sensitive().describe("Session token for temporary static credentials."),
                Attribute::string("endpoint_url").optional().describe("One endpoint URL for every service, e.g. `http://127.0.0.1:5000` for moto. Same as `AWS_ENDPOINT_URL`."),
                Attribute::bool("s3_use_path_style").optional().describe("Path-style S3 addressing. Defaults to true when an S3 endpoint is overridden, false otherwise."),
                Attribute::number("max_retries").optional().describe("How many times one AWS request is retried on throttling, 5xx answers, timeouts and reset connections, with jittered exponential backoff (default 25, as in the AWS provider; 0 turns retries off)."),
                Attribute::number("max_attempts").optional().describe("Deprecated: use `max_retries` (`max_attempts` = `max_retries` + 1). Attempts per AWS request, retries included."),
            ],
            blocks: vec![
                NestedBlock::single("assume_role", Block {
                    description: "Role to assume for every request (the base credentials come from the chain).".into(),
                    attributes: vec![
                        Attribute::string("role_arn").required().describe("ARN of the role to assume."),
                        Attribute::string("session_name").optional().describe("Session name recorded in CloudTrail (default `terraform-provider-bankplatform`)."),
                        Attribute::string("external_id").optional().sensitive().describe("External id the role's trust policy requires."),
                    ],
                    blocks: vec![],
                }),
                NestedBlock::single("default_tags", Block {
                    description: "Tags added to every taggable resource this provider creates; a resource's own `tags` win on conflicts.".into(),
                    attributes: vec![Attribute::typed("tags", Type::map(Type::String)).optional().describe("The tags.")],
                    blocks: vec![],
                }),
                NestedBlock::single("endpoints", Block {
                    description: "Endpoint overrides per service.".into(),
                    attributes: endpoint_attrs,
                    blocks: vec![],
                }),
            ],
        },
    }
}

/// The provider configuration, decoded and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    /// Region override.
    pub region: Option<String>,
    /// Profile name.
    pub profile: Option<String>,
    /// Static credentials (access key, secret key, session token).
    pub static_credentials: Option<(String, String, Option<String>)>,
    /// Role assumed for every request: (role ARN, session name, external id).
    pub assume_role: Option<(String, Option<String>, Option<String>)>,
    /// Tags merged into every resource's tags.
    pub default_tags: BTreeMap<String, String>,
    /// Endpoint for all services.
    pub endpoint_all: Option<String>,
    /// Endpoints per service.
    pub endpoints: BTreeMap<String, String>,
    /// S3 path-style addressing.
    pub s3_use_path_style: Option<bool>,
    /// Attempts per request, the first one included (from `max_retries`, or
    /// the deprecated `max_attempts`).
    pub max_attempts: Option<u32>,
}

/// The most retries a request may be given (the AWS provider allows any
/// number; past 100 an apply would wait for hours on a dead endpoint).
const MAX_RETRIES_LIMIT: u32 = 100;

/// A whole number attribute within `range`, or an error at its path.
fn whole_number(
    config: &Value,
    name: &str,
    range: std::ops::RangeInclusive<u32>,
    diags: &mut Diagnostics,
) -> Option<u32> {
    let v = config.get(name);
    let n = v.as_number()?;
    match v.as_i64() {
        Some(i) if u32::try_from(i).is_ok_and(|i| range.contains(&i)) => Some(i as u32),
        _ => {
            diags.attr_error(
                AttrPath::root(name),
                format!("Invalid {name}"),
                format!(
                    "{name} must be a whole number from {} to {}; got {n}.",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

impl ProviderSettings {
    /// Decodes the configuration value. Unknown values (Terraform may send them
    /// when the configuration depends on other resources) are reported.
    pub fn from_value(config: &Value, diags: &mut Diagnostics) -> ProviderSettings {
        let mut s = ProviderSettings::default();
        if config.is_null() {
            return s;
        }
        config.walk(&mut |path, v| {
            if !v.is_known() {
                diags.attr_error(
                    path.clone(),
                    "Provider configuration not known",
                    format!("{path} is not known until apply. The bankplatform provider must be configured with values known at plan time; move what it depends on into an earlier apply."),
                );
            }
        });
        if diags.has_errors() {
            return s;
        }
        s.region = opt_str(config.get("region"));
        s.profile = opt_str(config.get("profile"));
        match (opt_str(config.get("access_key")), opt_str(config.get("secret_key"))) {
            (Some(a), Some(k)) => {
                s.static_credentials = Some((a, k, opt_str(config.get("token"))));
            }
            (None, None) => {}
            (a, _) => diags.attr_error(
                AttrPath::root(if a.is_some() { "secret_key" } else { "access_key" }),
                "Incomplete static credentials",
                "access_key and secret_key must be given together (or neither, to use the standard credential chain).",
            ),
        }
        let ar = config.get("assume_role");
        if !ar.is_null() {
            s.assume_role = opt_str(ar.get("role_arn")).map(|arn| {
                (
                    arn,
                    opt_str(ar.get("session_name")),
                    opt_str(ar.get("external_id")),
                )
            });
            if let Some((arn, _, _)) = &s.assume_role {
                if !arn.starts_with("arn:") || !arn.contains(":role/") {
                    diags.attr_error(
                        AttrPath::root("assume_role").attr("role_arn"),
                        "Invalid role ARN",
                        format!("\"{arn}\" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)."),
                    );
                }
            }
        }
        if let Some(tags) = config.get("default_tags").get("tags").as_map() {
            s.default_tags = tags
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect();
        }
        s.endpoint_all = opt_str(config.get("endpoint_url"));
        let eps = config.get("endpoints");
        if let Some(all) = opt_str(eps.get("all")) {
            s.endpoint_all.get_or_insert(all);
        }
        for svc in ENDPOINT_SERVICES {
            if let Some(url) = opt_str(eps.get(svc)) {
                s.endpoints.insert((*svc).to_string(), url);
            }
        }
        let urls: Vec<(AttrPath, String)> = s
            .endpoint_all
            .iter()
            .map(|u| (AttrPath::root("endpoint_url"), u.clone()))
            .chain(
                s.endpoints
                    .iter()
                    .map(|(k, u)| (AttrPath::root("endpoints").attr(k), u.clone())),
            )
            .collect();
        for (path, url) in urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                diags.attr_error(
                    path,
                    "Invalid endpoint URL",
                    format!("\"{url}\" must start with http:// or https://."),
                );
            }
        }
        s.s3_use_path_style = config.get("s3_use_path_style").as_bool();
        let retries = whole_number(config, "max_retries", 0..=MAX_RETRIES_LIMIT, diags);
        let attempts = whole_number(config, "max_attempts", 1..=MAX_RETRIES_LIMIT + 1, diags);
        s.max_attempts = match (retries, attempts) {
            (Some(_), Some(_)) => {
                diags.attr_error(
                    AttrPath::root("max_attempts"),
                    "Conflicting retry settings",
                    "Set max_retries only: max_attempts is its deprecated form (max_attempts = max_retries + 1).",
                );
                None
            }
            (Some(r), None) => Some(r + 1),
            (None, a) => a,
        };
        s
    }

    /// The endpoint for one service: its own override, else the global one.
    pub fn endpoint_for(&self, service: &str) -> Option<&str> {
        self.endpoints
            .get(service)
            .or(self.endpoint_all.as_ref())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::null_object(&provider_schema().block.implied_type());
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    #[test]
    fn decodes_endpoints_tags_and_credentials() {
        let v = config(&[
            ("region", "eu-west-1".into()),
            ("access_key", "AKIA".into()),
            ("secret_key", "s".into()),
            ("endpoint_url", "http://127.0.0.1:5000".into()),
            (
                "endpoints",
                Value::object(std::iter::once(("all", Value::Null)).chain(
                    ENDPOINT_SERVICES.iter().map(|s| {
                        (
                            *s,
                            if *s == "kms" {
                                "https://kms.vpce".into()
                            } else {
                                Value::Null
                            },
                        )
                    }),
                )),
            ),
            (
                "default_tags",
                Value::object([("tags", Value::string_map([("team", "platform")]))]),
            ),
        ]);
        let mut d = Diagnostics::new();
        let s = ProviderSettings::from_value(&v, &mut d);
        assert!(!d.has_errors(), "{d:?}");
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.endpoint_for("s3"), Some("http://127.0.0.1:5000"));
        assert_eq!(s.endpoint_for("kms"), Some("https://kms.vpce"));
        assert_eq!(
            s.default_tags.get("team").map(String::as_str),
            Some("platform")
        );
        assert!(s.static_credentials.is_some());
    }

    #[test]
    fn rejects_half_credentials_and_bad_urls() {
        let v = config(&[
            ("access_key", "AKIA".into()),
            ("endpoint_url", "127.0.0.1:5000".into()),
        ]);
        let mut d = Diagnostics::new();
        ProviderSettings::from_value(&v, &mut d);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|d| d.path.as_ref().map(|p| p.to_string()))
            .collect();
        assert!(paths.contains(&"secret_key".to_string()), "{paths:?}");
        assert!(paths.contains(&"endpoint_url".to_string()), "{paths:?}");
    }

    #[test]
    fn retries_default_to_none_and_reject_fractions_and_conflicts() {
        let mut d = Diagnostics::new();
        let s = ProviderSettings::from_value(&config(&[]), &mut d);
        assert_eq!(s.max_attempts, None);
        let s = ProviderSettings::from_value(&config(&[("max_retries", Value::number(5))]), &mut d);
        assert_eq!(s.max_attempts, Some(6));
        assert!(!d.has_errors(), "{d:?}");
        for bad in [
            vec![("max_retries", Value::Number("2.5".parse().unwrap()))],
            vec![("max_retries", Value::number(-1))],
            vec![("max_retries", Value::number(101))],
            vec![
                ("max_retries", Value::number(3)),
                ("max_attempts", Value::number(4)),
            ],
        ] {
            let mut d = Diagnostics::new();
            ProviderSettings::from_value(&config(&bad), &mut d);
            assert!(d.has_errors(), "{bad:?} was accepted");
            assert!(d.iter().all(|x| x.path.is_some()), "{d:?}");
        }
    }

    #[test]
    fn schema_passes_terraform_rules() {
        assert!(provider_schema().block.check("provider").is_empty());
    }
}
