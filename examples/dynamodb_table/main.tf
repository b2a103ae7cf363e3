# A DynamoDB table as the platform's data tier and the Terraform state lock need it:
# on-demand capacity, encrypted with a customer-managed key made for it (rotation
# on), point-in-time recovery on. `compliance` shows each control as read back
# from AWS.

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

resource "bankplatform_dynamodb_table" "lock" {
  name     = "terraform-state-lock"
  hash_key = "LockID"

  # Deletion protection is on by default and holds against `terraform destroy`.
  # This example turns it off so that it can be destroyed; DynamoDB.6 shows false.
  deletion_protection = false
}

output "table_arn" {
  value = bankplatform_dynamodb_table.lock.arn
}

output "compliance" {
  value = bankplatform_dynamodb_table.lock.compliance
}
