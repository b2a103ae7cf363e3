# The security account's stack, with bankplatform: the Config aggregator over the
# platform's accounts and Regions, and the alarm topic the security alarms and
# findings of those accounts go to (KMS-encrypted with a key made for it,
# publishable by EventBridge and CloudWatch of those accounts only, over TLS only),
# notifying the security team. bench/peer/security is the same written with
# hashicorp/aws 3.39.

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

locals {
  accounts = ["210000000005", "210000000006", "210000000007"]
}

resource "bankplatform_config_aggregator" "this" {
  name        = "bank-bench"
  account_ids = local.accounts
  regions     = ["us-east-1", "eu-west-1"]
}

resource "bankplatform_alarm_topic" "this" {
  name            = "bank-bench-security-alarms"
  source_accounts = local.accounts
  subscriptions   = [{ protocol = "email", endpoint = "security-operations@example.com" }]
}
