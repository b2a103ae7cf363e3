//! Acceptance tests for `bankplatform_alarm_topic`: the standard suite on Terraform
//! 1.15 and 1.0.3, each case in its own emulated account. Every control is read back
//! through the SNS and KMS APIs: the topic's key (customer-managed, rotation on, its
//! policy admitting the publishers for the source accounts only), the topic policy
//! statement by statement, and the subscriptions.
//!
//! What the emulator cannot show: that SNS enforces the policy (moto accepts any
//! publisher), and delivery to an email address (moto confirms every subscription).

const ADDR: &str = "bankplatform_alarm_topic.test";

pub(crate) mod standard {
    use acceptance_tests::checks::{kms, sdk};
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use acceptance_tests::StepCtx;
    use anyhow::{ensure, Context, Result};
    use futures::FutureExt;
    use serde_json::Value;

    fn with(name: &str, extra: &str) -> String {
        format!(
            "resource \"bankplatform_alarm_topic\" \"test\" {{\n  name = \"{name}\"\n{extra}\n}}\n"
        )
    }

    fn basic(name: &str) -> String {
        with(
            name,
            "  subscriptions = [{ protocol = \"email\", endpoint = \"secops@example.com\" }]",
        )
    }

    const OTHER: &str = "210000000007";

    /// The topic policy read back: TLS required, each admitted service limited to
    /// `accounts`, no public allow; and the publishers it admits.
    async fn check_topic(ctx: &StepCtx, accounts: &[&str]) -> Result<Vec<String>> {
        let arn = ctx.require_str(super::ADDR, "arn")?;
        let out = ctx
            .aws
            .sns()
            .get_topic_attributes()
            .topic_arn(&arn)
            .send()
            .await
            .map_err(|e| sdk("GetTopicAttributes", e))?;
        let attrs = out.attributes().context("no attributes")?;
        let key = attrs
            .get("KmsMasterKeyId")
            .context("the topic is not encrypted")?;
        ensure!(
            key == &ctx.require_str(super::ADDR, "kms_key_arn")?,
            "the topic's key {key} is not the resource's"
        );
        ensure!(
            kms::key_rotation_enabled(ctx.aws.kms(), key).await?,
            "rotation is off on {key}"
        );
        let policy: Value = serde_json::from_str(attrs.get("Policy").context("no policy")?)?;
        let statements = policy["Statement"].as_array().context("no statements")?;
        ensure!(
            statements.iter().any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
            "publishing without TLS is not denied: {policy}"
        );
        let mut publishers = Vec::new();
        for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
            ensure!(
                s["Principal"] != "*" && s["Principal"]["AWS"] != "*",
                "public allow: {s}"
            );
            if let Some(svc) = s["Principal"]["Service"].as_str() {
                let got = &s["Condition"]["StringEquals"]["aws:SourceAccount"];
                let got: Vec<&str> = match got {
                    Value::String(a) => vec![a.as_str()],
                    Value::Array(l) => l.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                ensure!(
                    got == accounts,
                    "{svc} may publish for {got:?}, not exactly {accounts:?}"
                );
                publishers.push(svc.to_string());
            }
        }
        let subs = ctx
            .aws
            .sns()
            .list_subscriptions_by_topic()
            .topic_arn(&arn)
            .send()
            .await
            .map_err(|e| sdk("ListSubscriptionsByTopic", e))?;
        ensure!(
            subs.subscriptions()
                .iter()
                .all(|s| s.protocol() != Some("http")),
            "a subscription travels in clear"
        );
        Ok(publishers)
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "topic",
        composite: Composite {
            config: basic,
            expected: &[("sns topic", 1), ("kms key", 1)],
            beside: &[],
        },
        updated: |name| {
            with(
                name,
                &format!("  publishers      = [\"events\", \"guardduty\"]\n  source_accounts = [\"{OTHER}\"]\n  tags            = {{ team = \"secops\" }}\n  subscriptions   = [{{ protocol = \"https\", endpoint = \"https://alerts.example.com/sns\" }}]"),
            )
        },
        replaced: |name| basic(&format!("{name}-r")),
        import_ignore: &[],
        controls: &[
            ("SNS.1", true),
            ("SNS.4", true),
            ("bank:topic-tls-only", true),
            ("bank:topic-publishers-scoped", true),
        ],
        check: |ctx| {
            async move {
                // The update names another account (the configuration, as the state
                // holds it: an optional argument is what was configured).
                let updated = ctx
                    .attr(super::ADDR, "source_accounts")
                    .is_some_and(|v| v.to_string().contains(OTHER));
                let (accounts, wanted): (Vec<String>, &[&str]) = if updated {
                    (
                        vec![OTHER.to_string()],
                        &["events.amazonaws.com", "guardduty.amazonaws.com"],
                    )
                } else {
                    (
                        vec![ctx.aws.account_id().to_string()],
                        &["cloudwatch.amazonaws.com", "events.amazonaws.com"],
                    )
                };
                let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
                let publishers = check_topic(&ctx, &accounts).await?;
                ensure!(
                    publishers == wanted,
                    "publishers {publishers:?}, wanted {wanted:?}"
                );
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                let arn = ctx.require_str(super::ADDR, "arn")?;
                let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": arn}]});
                ctx.aws
                    .sns()
                    .set_topic_attributes()
                    .topic_arn(&arn)
                    .attribute_name("Policy")
                    .attribute_value(open.to_string())
                    .send()
                    .await
                    .map_err(|e| sdk("SetTopicAttributes", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["SNS.4", "bank:topic-tls-only"],
        disappear: |ctx| {
            async move {
                let arn = ctx.require_str(super::ADDR, "arn")?;
                ctx.aws
                    .sns()
                    .delete_topic()
                    .topic_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteTopic", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    with(name, "  subscriptions = [{ protocol = \"http\", endpoint = \"http://alerts.example.com\" }]"),
                    r"(?is)invalid subscription protocol.*subscriptions",
                ),
                (
                    with(name, "  subscriptions = [{ protocol = \"https\", endpoint = \"alerts.example.com\" }]"),
                    r"(?is)invalid subscription endpoint.*endpoint",
                ),
                (
                    with(name, "  publishers = [\"everyone\"]"),
                    r"(?is)invalid publisher.*publishers",
                ),
                (
                    with(name, "  source_accounts = [\"12345\"]"),
                    r"(?is)invalid account id.*source_accounts",
                ),
                (
                    basic(&format!("{name}.fifo.x")),
                    r"(?is)invalid topic name.*name",
                ),
                (
                    with(name, "  kms_key_arn = \"alias/aws/sns\""),
                    r"(?is)kms_key_arn",
                ),
            ]
        },
        fail_at: 3,
        kill_after: 2,
    };

    acceptance_tests::standard_suite!(SUITE);
}
