//! Provider functions through real Terraform 1.15 (functions need 1.8+):
//! `provider::bankplatform::subnet_plan`.

use acceptance_tests::{check, expect_error, skip_unless_acc, Step, TestCase, TfVersion};
use anyhow::{ensure, Context, Result};

fn config(cidr: &str, zones: &str) -> String {
    format!(
        r#"
output "plan" {{
  value = provider::bankplatform::subnet_plan("{cidr}", {zones}, {{}})
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_subnet_plan() -> Result<()> {
    skip_unless_acc!();
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: check(|ctx| async move {
                    let plan = ctx.output("plan").context("output plan is missing")?;
                    let cidr =
                        |tier: &str, zone: &str| plan[tier][zone].as_str().map(str::to_string);
                    ensure!(
                        cidr("private", "eu-west-1a").as_deref() == Some("10.0.0.0/20"),
                        "{plan}"
                    );
                    ensure!(
                        cidr("public", "eu-west-1c").as_deref() == Some("10.0.130.0/24"),
                        "{plan}"
                    );
                    ensure!(
                        cidr("restricted", "eu-west-1a").as_deref() == Some("10.0.136.0/24"),
                        "{plan}"
                    );
                    Ok(())
                }),
                ..Step::config(config("10.0.0.0/16", r#"["eu-west-1a", "eu-west-1c"]"#))
            },
            // Adding a zone keeps the subnets of the others.
            Step {
                check: check(|ctx| async move {
                    let plan = ctx.output("plan").context("output plan is missing")?;
                    ensure!(plan["public"]["eu-west-1c"] == "10.0.130.0/24", "{plan}");
                    ensure!(plan["public"]["eu-west-1b"] == "10.0.129.0/24", "{plan}");
                    Ok(())
                }),
                ..Step::config(config(
                    "10.0.0.0/16",
                    r#"["eu-west-1a", "eu-west-1b", "eu-west-1c"]"#,
                ))
            },
            Step {
                plan_only: true,
                expect_error: expect_error(
                    r#"(?is)invalid value for "vpc_cidr" parameter.*/16 to /28"#,
                ),
                ..Step::config(config("10.0.0.0/8", r#"["eu-west-1a"]"#))
            },
        ],
        check_destroy: None,
    }
    .run()
    .await
}
