# Threat detection for one account and Region in one resource: GuardDuty with S3,
# RDS, runtime (Fargate agent) and EBS malware protection publishing every 15
# minutes, findings exported to an encrypted bucket, and Security Hub with
# consolidated control findings and the FSBP, CIS and PCI DSS standards.
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

resource "bankplatform_kms_key" "findings" {
  name    = "demo/security/findings"
  purpose = "guardduty"
}

resource "bankplatform_compliant_bucket" "findings" {
  bucket_prefix = "demo-findings-"
  purpose       = "audit"
  force_destroy = true

  delivery_sources = {
    guardduty = ["self"]
  }
}

resource "bankplatform_threat_detection" "this" {
  findings_bucket_arn  = bankplatform_compliant_bucket.findings.arn
  findings_kms_key_arn = bankplatform_kms_key.findings.arn
}

output "detector_id" {
  value = bankplatform_threat_detection.this.id
}

output "compliance" {
  value = bankplatform_threat_detection.this.compliance
}
