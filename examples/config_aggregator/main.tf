# The security account's view of AWS Config across the platform: one aggregator
# collecting every listed account in the platform's Regions (set
# `organization = true` instead, in the management account or a delegated
# administrator, to collect from the whole organization through a role Config
# assumes for this account only). `compliance` shows the control as read back.

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

resource "bankplatform_config_aggregator" "platform" {
  name        = "platform"
  account_ids = ["210000000005", "210000000006", "210000000007"]
  regions     = ["eu-west-1", "eu-central-1"]
}

output "compliance" {
  value = bankplatform_config_aggregator.platform.compliance
}
