# Two customer-managed keys, each one resource and compliant with no further
# settings: rotation on, 30-day deletion window, a key policy that separates
# administrators from users and admits only the service principals the purpose
# needs. `compliance` shows each control as read back from AWS.

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

# CloudTrail may encrypt with it (only for this account's trails), CloudWatch
# Logs for this account's log groups, and alarms may publish to a topic under it.
resource "bankplatform_kms_key" "trail" {
  name    = "demo/audit/trail"
  purpose = "trail"
}

# Usable only through S3, by principals of this account. A multi-Region key with
# a replica in the recovery Region: the same key material under the same alias,
# its policy naming that Region, so data copied there can be read there.
resource "bankplatform_kms_key" "data" {
  name            = "demo/payments/s3"
  purpose         = "s3"
  multi_region    = true
  replica_regions = ["eu-west-1"]

  tags = {
    data_classification = "confidential"
  }
}

output "trail_key_arn" {
  value = bankplatform_kms_key.trail.arn
}

output "data_key_alias" {
  value = bankplatform_kms_key.data.alias
}

output "data_key_replicas" {
  value = bankplatform_kms_key.data.replica_arns
}

output "compliance" {
  value = {
    trail = bankplatform_kms_key.trail.compliance
    data  = bankplatform_kms_key.data.compliance
  }
}
