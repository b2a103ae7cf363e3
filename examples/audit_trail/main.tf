# The audit answer in two resources: a WORM audit bucket that admits only this
# trail, and a multi-Region trail with log file validation, SSE-KMS, a year of
# encrypted CloudWatch Logs, S3 data events, and a metric filter with an alarm
# for every CIS 5.x event set notifying an encrypted topic. `compliance` shows
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

  default_tags {
    tags = {
      managed_by = "terraform"
      platform   = "bankplatform-demo"
    }
  }
}

locals {
  trail = "demo-audit"
}

# Object lock in COMPLIANCE mode for 7 years; only the trail named here, in this
# account and region, may write.
resource "bankplatform_compliant_bucket" "audit" {
  bucket_prefix = "demo-audit-"
  purpose       = "audit"

  delivery_sources = {
    cloudtrail = [local.trail]
  }
}

resource "bankplatform_audit_trail" "this" {
  name           = local.trail
  s3_bucket_name = bankplatform_compliant_bucket.audit.bucket
}

output "trail_arn" {
  value = bankplatform_audit_trail.this.arn
}

output "alarm_topic_arn" {
  value = bankplatform_audit_trail.this.alarm_topic_arn
}

output "compliance" {
  value = bankplatform_audit_trail.this.compliance
}
