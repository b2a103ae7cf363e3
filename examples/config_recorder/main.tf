# AWS Config as an auditor expects it, in one resource beside its bucket and key:
# every supported resource type recorded (global ones in this home Region), the
# service-linked role, snapshots delivered with SSE-KMS, recording started, and
# the bank-baseline pack of AWS managed rules. `compliance` shows each control as
# read back from AWS.

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

resource "bankplatform_kms_key" "config" {
  name    = "demo/audit/config"
  purpose = "config"
}

# In a multi-account layout this is the log archive's Config bucket, admitting
# `config = [<account ids>]`; here it is the same account's ("self").
resource "bankplatform_compliant_bucket" "config" {
  bucket_prefix = "demo-config-"
  purpose       = "audit"
  force_destroy = true

  delivery_sources = {
    config = ["self"]
  }
}

resource "bankplatform_config_recorder" "this" {
  s3_bucket_name = bankplatform_compliant_bucket.config.bucket
  kms_key_arn    = bankplatform_kms_key.config.arn
}

output "rules" {
  value = bankplatform_config_recorder.this.rule_identifiers
}

output "compliance" {
  value = bankplatform_config_recorder.this.compliance
}
