# The security account's alarm topic: where every account's EventBridge rules send
# GuardDuty and Security Hub findings, and this account's CloudWatch alarms. It is
# encrypted with a customer-managed key made for it, admits only those services for
# the platform's accounts (aws:SourceAccount) and only over TLS, and notifies the
# security team by email (pending until the address confirms). `compliance` shows
# each control as read back from AWS.

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

resource "bankplatform_alarm_topic" "security" {
  name            = "security-alarms"
  publishers      = ["events", "cloudwatch"]
  source_accounts = ["210000000005", "210000000006", "210000000007"]

  subscriptions = [
    { protocol = "email", endpoint = "security-operations@example.com" },
  ]
}

output "topic_arn" {
  value = bankplatform_alarm_topic.security.arn
}

output "compliance" {
  value = bankplatform_alarm_topic.security.compliance
}
