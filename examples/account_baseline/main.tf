# The settings an auditor checks first in every account and Region, as one
# resource: the IAM password policy, EBS encryption by default with a
# customer-managed key, the S3 account-level public access block, an IAM Access
# Analyzer, and a read-only check that the root user has no access keys.
# `compliance` shows each control as read back from AWS (controls the endpoint
# cannot show are left out, never reported as holding).

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

resource "bankplatform_account_baseline" "this" {}

output "account_id" {
  value = bankplatform_account_baseline.this.account_id
}

output "compliance" {
  value = bankplatform_account_baseline.this.compliance
}
