# The role GitHub Actions assumes to apply the platform in this account, with no
# stored credentials: the account's OIDC identity provider for GitHub (made when
# missing), a trust policy admitting only the main branch and the production
# environment of one repository, one-hour sessions, the permissions the provider's
# composites need (no `*`, IAM only on `bankplatform-*` service roles, nothing on
# itself), and the state bucket with its lock table. Its plan-only twin is what
# pull requests and the daily drift check assume: reads, and of the state only
# reading it and taking its lock. `compliance` shows each control as read back
# from AWS.

terraform {
  required_version = ">= 1.0.3"
  required_providers {
    bankplatform = {
      source  = "registry.terraform.io/bankplatform/bankplatform"
      version = "0.1.0"
    }
  }
}

variable "aws_endpoint" {
  description = "AWS endpoint override, e.g. http://127.0.0.1:4566 for the local emulator; null for real AWS."
  type        = string
  default     = null
}

provider "bankplatform" {
  region       = "us-east-1"
  endpoint_url = var.aws_endpoint
}

resource "bankplatform_dynamodb_table" "lock" {
  name     = "acme-bank-tfstate-lock"
  hash_key = "LockID"

  # Deletion protection is on by default and holds against `terraform destroy`.
  # This example turns it off so that it can be destroyed; DynamoDB.6 shows false.
  deletion_protection = false
}

resource "bankplatform_deploy_role" "github" {
  name = "bankplatform-deploy"
  subjects = [
    "repo:acme-bank/platform:ref:refs/heads/main",
    "repo:acme-bank/platform:environment:production",
  ]
  state_bucket   = "acme-bank-tfstate-us-east-1"
  lock_table_arn = bankplatform_dynamodb_table.lock.arn
}

resource "bankplatform_deploy_role" "github_plan" {
  name     = "bankplatform-deploy-plan"
  access   = "plan"
  subjects = ["repo:acme-bank/platform:pull_request", "repo:acme-bank/platform:ref:refs/heads/main"]

  state_bucket   = "acme-bank-tfstate-us-east-1"
  lock_table_arn = bankplatform_dynamodb_table.lock.arn

  # The apply role made the account's GitHub identity provider: it goes last.
  depends_on = [bankplatform_deploy_role.github]
}

output "role_arn" {
  value = bankplatform_deploy_role.github.arn
}

output "compliance" {
  value = bankplatform_deploy_role.github.compliance
}

output "plan_compliance" {
  value = bankplatform_deploy_role.github_plan.compliance
}
