# The same security stack as `bankplatform_config_aggregator` + `bankplatform_alarm_topic`,
# written with hashicorp/aws 3.39 the way a bank's platform team would: the Config
# aggregator over the platform's accounts and Regions; a customer-managed key with
# rotation whose policy admits SNS for EventBridge and CloudWatch of the platform's
# accounts; the topic encrypted with it; a topic policy admitting those services for
# those accounts only and refusing publishing without TLS; the email subscription.

data "aws_caller_identity" "this" {}
data "aws_partition" "this" {}

locals {
  account = data.aws_caller_identity.this.account_id
  root    = "arn:${data.aws_partition.this.partition}:iam::${local.account}:root"
}

resource "aws_config_configuration_aggregator" "this" {
  name = var.name

  account_aggregation_source {
    account_ids = var.accounts
    regions     = ["us-east-1", "eu-west-1"]
  }

  tags = var.tags
}

resource "aws_kms_key" "topic" {
  description             = "${var.name} security alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid = "Administration", Effect = "Allow", Principal = { AWS = local.root },
        Action   = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
        Resource = "*"
      },
      {
        Sid = "Publishers", Effect = "Allow",
        Principal = { Service = ["events.amazonaws.com", "cloudwatch.amazonaws.com"] },
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"], Resource = "*",
        Condition = { StringEquals = { "aws:SourceAccount" = var.accounts } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_kms_alias" "topic" {
  name          = "alias/${var.name}/security-alarms"
  target_key_id = aws_kms_key.topic.key_id
}

resource "aws_sns_topic" "this" {
  name              = "${var.name}-security-alarms"
  kms_master_key_id = aws_kms_key.topic.arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "this" {
  arn = aws_sns_topic.this.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid = "AccountManages", Effect = "Allow", Principal = { AWS = local.root },
        Action   = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish", "SNS:DeleteTopic"],
        Resource = aws_sns_topic.this.arn
      },
      {
        Sid = "Publishers", Effect = "Allow",
        Principal = { Service = ["events.amazonaws.com", "cloudwatch.amazonaws.com"] },
        Action    = "SNS:Publish", Resource = aws_sns_topic.this.arn,
        Condition = { StringEquals = { "aws:SourceAccount" = var.accounts } }
      },
      {
        Sid = "DenyInsecureTransport", Effect = "Deny", Principal = { AWS = "*" },
        Action    = "SNS:Publish", Resource = aws_sns_topic.this.arn,
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "security_team" {
  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = "security-operations@example.com"
}
