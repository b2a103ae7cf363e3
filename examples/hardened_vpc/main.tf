# A production network in one resource: 3 zones × 3 tiers, NAT per zone,
# deny-by-default network ACLs, a restricted tier with no route to the
# internet, S3 and DynamoDB gateway endpoints, interface endpoints for the EC2,
# SSM and STS APIs, KMS-encrypted flow logs kept 365 days, and the default
# security group stripped.

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
    }
  }
}

resource "bankplatform_hardened_vpc" "prod" {
  name       = "prod-core"
  cidr_block = "10.10.0.0/16"
  az_count   = 3

  # Aurora MySQL and Redis in the restricted tier, reachable from private only.
  restricted_ports = [3306, 6379]

  # Instances reach these APIs without NAT or the internet. Interface endpoints
  # cost about USD 7 per endpoint per zone per month (here 3 × 3 ≈ USD 63); the
  # default is `ec2` alone (Security Hub's EC2.10), `[]` turns them off.
  interface_endpoints = ["ec2", "ssm", "sts"]

  tags = {
    environment = "prod"
  }
}

output "subnet_ids" {
  value = bankplatform_hardened_vpc.prod.subnet_ids
}

output "network_acl_rules" {
  value = bankplatform_hardened_vpc.prod.network_acl_rules
}

output "compliance" {
  value = bankplatform_hardened_vpc.prod.compliance
}
