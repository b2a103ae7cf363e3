//! Acceptance tests for `bankplatform_deploy_role`: the standard suite on Terraform
//! 1.15 and 1.0.3, each case in its own emulated account. Every control is read back
//! through the IAM API: the identity provider and its audiences, the trust policy
//! condition by condition, the session length, and the role's policy (no `*`, the
//! deny on itself, the state grants).
//!
//! What the emulator cannot show: that STS honours the trust policy (moto's
//! AssumeRoleWithWebIdentity accepts any token), or that IAM enforces the deny.

const ADDR: &str = "bankplatform_deploy_role.test";
const GITHUB: &str = "token.actions.githubusercontent.com";

pub(crate) mod standard {
    use acceptance_tests::checks::{iam, sdk};
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use acceptance_tests::StepCtx;
    use anyhow::{ensure, Context, Result};
    use futures::FutureExt;
    use serde_json::Value;

    fn with(name: &str, extra: &str) -> String {
        format!(
            "resource \"bankplatform_deploy_role\" \"test\" {{\n  name     = \"{name}\"\n  subjects = [\"repo:acme-bank/platform:ref:refs/heads/main\"]\n{extra}\n}}\n"
        )
    }

    fn basic(name: &str) -> String {
        with(name, "")
    }

    /// The role's trust, session and policy, read back; `subjects` and `bucket` as
    /// the configuration of the step says.
    async fn check_role(ctx: &StepCtx, subjects: &[&str], bucket: Option<&str>) -> Result<()> {
        let name = ctx.require_str(super::ADDR, "name")?;
        let iam = ctx.aws.iam();
        let role = iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .map_err(|e| sdk("GetRole", e))?
            .role
            .context("no role")?;
        ensure!(
            role.max_session_duration().unwrap_or(3600) <= 3600,
            "sessions last {:?}s",
            role.max_session_duration()
        );
        let trust = iam::document(
            role.assume_role_policy_document()
                .context("no trust policy")?,
        )?;
        let st = &trust["Statement"][0];
        ensure!(
            trust["Statement"].as_array().map(Vec::len) == Some(1),
            "more than one trust statement: {trust}"
        );
        ensure!(
            st["Action"] == "sts:AssumeRoleWithWebIdentity",
            "trust action {}",
            st["Action"]
        );
        let provider = st["Principal"]["Federated"]
            .as_str()
            .context("no federated principal")?;
        ensure!(
            provider.ends_with(&format!(":oidc-provider/{}", super::GITHUB)),
            "the role trusts {provider}"
        );
        ensure!(
            st["Condition"]["StringEquals"][format!("{}:aud", super::GITHUB)]
                == "sts.amazonaws.com",
            "audience not fixed: {st}"
        );
        let sub = &st["Condition"]["StringLike"][format!("{}:sub", super::GITHUB)];
        let got: Vec<&str> = match sub {
            Value::String(s) => vec![s.as_str()],
            Value::Array(l) => l.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        ensure!(got == subjects, "subjects {got:?}, wanted {subjects:?}");
        let p = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(provider)
            .send()
            .await
            .map_err(|e| sdk("GetOpenIDConnectProvider", e))?;
        ensure!(
            p.client_id_list().iter().any(|c| c == "sts.amazonaws.com"),
            "the identity provider does not accept the audience: {:?}",
            p.client_id_list()
        );
        let policy = iam
            .get_role_policy()
            .role_name(&name)
            .policy_name("bankplatform-deploy")
            .send()
            .await
            .map_err(|e| sdk("GetRolePolicy", e))?;
        let policy = iam::document(policy.policy_document())?;
        let statements = policy["Statement"].as_array().context("no statements")?;
        let actions = |s: &Value| -> Vec<String> {
            match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(l) => l
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
                _ => vec![],
            }
        };
        for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
            for a in actions(s) {
                ensure!(
                    !matches!(a.as_str(), "*" | "kms:*" | "cloudtrail:*" | "iam:*"),
                    "the role may {a}"
                );
                if a.starts_with("iam:")
                    && !a.starts_with("iam:Get")
                    && !a.starts_with("iam:List")
                    && !a.contains("PasswordPolicy")
                {
                    ensure!(
                        s["Resource"]
                            .as_str()
                            .is_some_and(|r| r.ends_with(":role/bankplatform-*")),
                        "{a} is not limited to the provider's service roles: {s}"
                    );
                }
            }
        }
        let arn = role.arn();
        ensure!(
            statements.iter().any(|s| {
                s["Effect"] == "Deny"
                    && actions(s) == ["iam:*"]
                    && s["Resource"].as_array().is_some_and(|r| {
                        r.iter().any(|x| x == arn) && r.iter().any(|x| x == provider)
                    })
            }),
            "no deny on the role itself and its provider: {policy}"
        );
        let state = statements.iter().find(|s| s["Sid"] == "BankplatformState");
        match bucket {
            Some(b) => ensure!(
                state.is_some_and(|s| s["Resource"] == format!("arn:aws:s3:::{b}/*")),
                "no state grant on {b}: {policy}"
            ),
            None => ensure!(state.is_none(), "a state grant nobody asked for"),
        }
        Ok(())
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "deploy",
        composite: Composite {
            config: basic,
            expected: &[("iam role", 1), ("iam oidc-provider", 1)],
            beside: &[],
        },
        updated: |name| {
            format!(
                "resource \"bankplatform_deploy_role\" \"test\" {{\n  name     = \"{name}\"\n  subjects = [\"repo:acme-bank/platform:ref:refs/heads/main\", \"repo:acme-bank/platform:environment:production\"]\n  state_bucket = \"acme-bank-tfstate\"\n  tags = {{ team = \"platform\" }}\n}}\n"
            )
        },
        replaced: |name| basic(&format!("{name}-r")),
        import_ignore: &[],
        controls: &[
            ("bank:deploy-no-admin", true),
            ("bank:deploy-not-itself", true),
            ("bank:deploy-session-1h", true),
            ("bank:deploy-trust-scoped", true),
        ],
        check: |ctx| {
            async move {
                let updated = ctx
                    .attr(super::ADDR, "state_bucket")
                    .is_some_and(|v| v.is_string());
                if updated {
                    check_role(
                        &ctx,
                        &[
                            "repo:acme-bank/platform:ref:refs/heads/main",
                            "repo:acme-bank/platform:environment:production",
                        ],
                        Some("acme-bank-tfstate"),
                    )
                    .await
                } else {
                    check_role(&ctx, &["repo:acme-bank/platform:ref:refs/heads/main"], None).await
                }
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                // Someone opens the role to every repository of GitHub.
                let name = ctx.require_str(super::ADDR, "name")?;
                let provider = ctx.require_str(super::ADDR, "oidc_provider_arn")?;
                let g = super::GITHUB;
                let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {format!("{g}:aud"): "sts.amazonaws.com"},
                                  "StringLike": {format!("{g}:sub"): "repo:*"}}}]});
                ctx.aws
                    .iam()
                    .update_assume_role_policy()
                    .role_name(&name)
                    .policy_document(open.to_string())
                    .send()
                    .await
                    .map_err(|e| sdk("UpdateAssumeRolePolicy", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["bank:deploy-trust-scoped"],
        disappear: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                let iam = ctx.aws.iam();
                iam.delete_role_policy()
                    .role_name(&name)
                    .policy_name("bankplatform-deploy")
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteRolePolicy", e))?;
                iam.delete_role()
                    .role_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteRole", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (basic("deploy role"), r"(?is)invalid role name.*name"),
                (
                    format!("resource \"bankplatform_deploy_role\" \"test\" {{\n  name     = \"{name}\"\n  subjects = [\"repo:*\"]\n}}\n"),
                    r"(?is)subject admits too much.*subjects\[0\]",
                ),
                (
                    format!("resource \"bankplatform_deploy_role\" \"test\" {{\n  name     = \"{name}\"\n  subjects = []\n}}\n"),
                    r"(?is)no subjects.*subjects",
                ),
                (
                    with(name, "  issuer_url = \"http://gitlab.example.com\""),
                    r"(?is)invalid issuer.*issuer_url",
                ),
                (
                    with(name, "  max_session_hours = 1.5"),
                    r"(?is)max_session_hours",
                ),
                (
                    with(name, "  lock_table_arn = \"terraform-lock\""),
                    r"(?is)lock_table_arn",
                ),
            ]
        },
        fail_at: 2,
        kill_after: 2,
    };

    acceptance_tests::standard_suite!(SUITE);
}
