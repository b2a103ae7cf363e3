# One account's security baseline in one Region, with bankplatform: the account
# settings (password policy, EBS encryption by default with a CMK, the S3 account
# block, Access Analyzer), AWS Config with the bank-baseline rule pack delivering
# with the bucket's key, and GuardDuty + Security Hub exporting findings with the
# same key, into one audit bucket admitting Config and GuardDuty of this account
# only. bench/peer/baseline is the same written with hashicorp/aws 3.39.

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

resource "bankplatform_account_baseline" "this" {}

resource "bankplatform_compliant_bucket" "audit" {
  bucket_prefix = "bench-baseline-"
  purpose       = "audit"
  force_destroy = true

  delivery_sources = {
    config    = ["self"]
    guardduty = ["self"]
  }
}

resource "bankplatform_config_recorder" "this" {
  s3_bucket_name = bankplatform_compliant_bucket.audit.bucket
  kms_key_arn    = bankplatform_compliant_bucket.audit.kms_key_arn
}

resource "bankplatform_threat_detection" "this" {
  findings_bucket_arn  = bankplatform_compliant_bucket.audit.arn
  findings_kms_key_arn = bankplatform_compliant_bucket.audit.kms_key_arn
}
