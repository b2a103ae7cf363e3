# The organization layer of the management account, with bankplatform: all features,
# the six OUs (and the Workloads parent), the three guardrail SCPs on the root
# (baseline protection with two exempt roles, no root user and no leaving, two allowed
# Regions) and trusted access for the security services. bench/peer/organization is the
# same written with hashicorp/aws 3.39. No member account: the emulator joins only the
# accounts an organization creates, so placement and delegation are left out of both.

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

resource "bankplatform_organization" "bank" {
  name              = "bank-bench"
  allowed_regions   = ["us-east-1", "us-west-2"]
  exempt_role_names = ["OrganizationAccountAccessRole", "bankplatform-deploy"]
  tags              = { Environment = "bench" }
}

output "compliance" {
  value = bankplatform_organization.bank.compliance
}
