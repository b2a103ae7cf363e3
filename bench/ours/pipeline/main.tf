# The pipeline layer of one account, with bankplatform: the Terraform state lock table
# (on demand, a customer-managed key made for it, point-in-time recovery) and the two
# roles GitHub Actions assumes through OIDC (the account's identity provider made by
# the first; the apply role trusted for one repository's production environment, the
# plan role for its pull requests and main; one-hour sessions; no `*`; a deny on
# themselves; the state bucket and lock table granted). bench/peer/pipeline is the same
# written with hashicorp/aws 3.39.

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
  name     = "bank-bench-tfstate-lock"
  hash_key = "LockID"
  # Off so that the benchmark can destroy it (DynamoDB.6 then reads false).
  deletion_protection = false
}

resource "bankplatform_deploy_role" "apply" {
  name           = "bank-bench-deploy"
  subjects       = ["repo:acme-bank/platform:environment:production"]
  state_bucket   = "bank-bench-tfstate"
  lock_table_arn = bankplatform_dynamodb_table.lock.arn
}

resource "bankplatform_deploy_role" "plan" {
  name           = "bank-bench-deploy-plan"
  access         = "plan"
  subjects       = ["repo:acme-bank/platform:pull_request", "repo:acme-bank/platform:ref:refs/heads/main"]
  state_bucket   = "bank-bench-tfstate"
  lock_table_arn = bankplatform_dynamodb_table.lock.arn
  depends_on     = [bankplatform_deploy_role.apply]
}
