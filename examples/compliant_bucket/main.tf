# A log bucket and a transaction bucket that logs into it: each is one
# resource, compliant with no further settings (SSE-KMS with a rotating CMK,
# versioning, object lock, public access blocked, ACLs off, TLS-only policy,
# lifecycle tiers). `compliance` shows each control as read back from AWS; S3.7
# (cross-Region replication) stays false here, because it needs a second bucket
# in a DR Region: set `replication` (the generated tree does, from pilot light up).

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

resource "bankplatform_compliant_bucket" "logs" {
  bucket_prefix = "demo-access-logs-"
  purpose       = "logs"
  force_destroy = true
}

resource "bankplatform_compliant_bucket" "transactions" {
  bucket_prefix = "demo-transactions-"
  purpose       = "transaction"

  access_logging {
    target_bucket = bankplatform_compliant_bucket.logs.bucket
  }

  tags = {
    data_classification = "confidential"
  }
}

output "transactions_bucket" {
  value = bankplatform_compliant_bucket.transactions.bucket
}

output "transactions_kms_key_arn" {
  value = bankplatform_compliant_bucket.transactions.kms_key_arn
}

output "transactions_compliance" {
  value = bankplatform_compliant_bucket.transactions.compliance
}

output "logs_bucket" {
  value = bankplatform_compliant_bucket.logs.bucket
}
