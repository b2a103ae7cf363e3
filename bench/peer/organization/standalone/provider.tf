# AWS provider pointed at a local moto emulator. Every service the modules touch has an
# endpoint; credentials are dummies and every AWS-side validation call is skipped.

variable "aws_endpoint" {
  description = "Base URL of the moto server (run.sh sets TF_VAR_aws_endpoint)."
  type        = string
  default     = "http://127.0.0.1:4610"
}

provider "aws" {
  region     = "us-east-1"
  access_key = "testing"
  secret_key = "testing"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_force_path_style         = true

  endpoints {
    ec2            = var.aws_endpoint
    iam            = var.aws_endpoint
    kms            = var.aws_endpoint
    cloudwatchlogs = var.aws_endpoint
    cloudtrail     = var.aws_endpoint
    cloudwatch     = var.aws_endpoint
    sns            = var.aws_endpoint
    configservice  = var.aws_endpoint
    dynamodb       = var.aws_endpoint
    organizations  = var.aws_endpoint
    guardduty      = var.aws_endpoint
    securityhub    = var.aws_endpoint
    accessanalyzer = var.aws_endpoint
    s3control      = var.aws_endpoint
    s3             = var.aws_endpoint
    sts            = var.aws_endpoint
  }

  default_tags {
    tags = {
      ManagedBy  = "terraform"
      Compliance = "pci-dss"
    }
  }
}
