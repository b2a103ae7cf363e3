# The management account's organization, laid out for a bank: all features, the
# OUs by environment and sensitivity (Security, Infrastructure, Workloads/Prod,
# Workloads/NonProd, Sandbox, Suspended), and the guardrail SCPs on the root:
# member accounts cannot turn off the audit trail, Config, GuardDuty, Security Hub
# or Access Analyzer, weaken the account baseline, delete keys, act as root, leave
# the organization, or act outside the allowed Regions (the deploy and
# break-glass roles excepted, for the baseline and Region guardrails only).
#
# Set `security_account_id` (a member account) to administer GuardDuty, Security
# Hub, Config and Access Analyzer from it, and `accounts` to place members in
# their OUs. Left unset here, so the four `bank:delegated-*` controls read false:
# an organization just created has no member to delegate to.

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

variable "security_account_id" {
  description = "The security account (a member of the organization); null until it is one."
  type        = string
  default     = null
}

provider "bankplatform" {
  region       = "us-east-1"
  endpoint_url = var.aws_endpoint
}

resource "bankplatform_organization" "bank" {
  name                = "bank"
  allowed_regions     = ["us-east-1", "us-west-2"]
  exempt_role_names   = ["OrganizationAccountAccessRole", "bankplatform-deploy"]
  security_account_id = var.security_account_id
}

output "organizational_unit_ids" {
  value = bankplatform_organization.bank.organizational_unit_ids
}

output "compliance" {
  value = bankplatform_organization.bank.compliance
}
