# The same pipeline layer as `bankplatform_dynamodb_table` + two `bankplatform_deploy_role`,
# written with hashicorp/aws 3.39 the way a bank's platform team would: a
# customer-managed key with rotation for the lock table; the table on demand, encrypted
# with it, point-in-time recovery on (3.39 has no deletion protection argument); the
# account's GitHub OIDC identity provider; the apply and plan roles with their trust
# policies (audience fixed, subjects naming the repository) and inline policies (the
# same actions as ours: no `*`, IAM only on service roles, a deny on themselves, the
# state bucket and lock table).

data "aws_caller_identity" "this" {}
data "aws_partition" "this" {}

locals {
  account  = data.aws_caller_identity.this.account_id
  p        = data.aws_partition.this.partition
  root     = "arn:${local.p}:iam::${local.account}:root"
  host     = "token.actions.githubusercontent.com"
  state    = "${var.name}-tfstate"
  services = ["s3:*", "ec2:*", "logs:*", "cloudwatch:*", "sns:*", "config:*", "guardduty:*", "securityhub:*", "access-analyzer:*", "dynamodb:*", "tag:GetResources", "sts:GetCallerIdentity", "organizations:Describe*", "organizations:List*", "kms:CreateKey", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "kms:Describe*", "kms:Get*", "kms:List*", "kms:EnableKey", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:ReplicateKey", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:DeleteTrail", "cloudtrail:StartLogging", "cloudtrail:Describe*", "cloudtrail:Get*", "cloudtrail:List*", "cloudtrail:PutEventSelectors", "cloudtrail:PutInsightSelectors", "cloudtrail:AddTags", "cloudtrail:RemoveTags", "iam:Get*", "iam:List*", "iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy"]
  reads    = ["s3:Get*", "s3:List*", "ec2:Describe*", "ec2:Get*", "logs:Describe*", "logs:List*", "cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*", "sns:Get*", "sns:List*", "config:Describe*", "config:Get*", "config:List*", "guardduty:Get*", "guardduty:List*", "securityhub:Describe*", "securityhub:Get*", "securityhub:List*", "access-analyzer:Get*", "access-analyzer:List*", "dynamodb:Describe*", "dynamodb:List*", "tag:GetResources", "sts:GetCallerIdentity", "organizations:Describe*", "organizations:List*", "kms:Describe*", "kms:Get*", "kms:List*", "cloudtrail:Describe*", "cloudtrail:Get*", "cloudtrail:List*", "iam:Get*", "iam:List*"]
  roles = {
    apply = { name = "${var.name}-deploy", subjects = ["repo:${var.repository}:environment:production"] }
    plan  = { name = "${var.name}-deploy-plan", subjects = ["repo:${var.repository}:pull_request", "repo:${var.repository}:ref:refs/heads/main"] }
  }
}

resource "aws_kms_key" "lock" {
  description             = "${var.name} state lock table"
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
        Sid = "DynamoDB", Effect = "Allow", Principal = { AWS = local.root },
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"], Resource = "*",
        Condition = { StringEquals = { "kms:ViaService" = "dynamodb.us-east-1.amazonaws.com", "kms:CallerAccount" = local.account } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_kms_alias" "lock" {
  name          = "alias/${var.name}/tfstate-lock"
  target_key_id = aws_kms_key.lock.key_id
}

resource "aws_dynamodb_table" "lock" {
  name         = "${var.name}-tfstate-lock"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.lock.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

resource "aws_iam_openid_connect_provider" "github" {
  url             = "https://${local.host}"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  tags            = var.tags
}

resource "aws_iam_role" "deploy" {
  for_each             = local.roles
  name                 = each.value.name
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow", Principal = { Federated = aws_iam_openid_connect_provider.github.arn },
      Action    = "sts:AssumeRoleWithWebIdentity",
      Condition = { StringEquals = { "${local.host}:aud" = "sts.amazonaws.com" }, StringLike = { "${local.host}:sub" = each.value.subjects } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "deploy" {
  for_each = local.roles
  name     = "deploy"
  role     = aws_iam_role.deploy[each.key].id
  # Two documents (their statement lists differ in type, so each is encoded first).
  policy = each.key == "apply" ? jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = local.services, Resource = "*" },
      { Effect = "Allow", Action = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole"], Resource = "arn:${local.p}:iam::${local.account}:role/bankplatform-*" },
      { Effect = "Allow", Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource = "arn:${local.p}:s3:::${local.state}/*" },
      { Effect = "Deny", Action = "iam:*", Resource = [aws_iam_role.deploy[each.key].arn, aws_iam_openid_connect_provider.github.arn] },
      { Effect = "Allow", Action = "s3:ListBucket", Resource = "arn:${local.p}:s3:::${local.state}" },
      { Effect = "Allow", Action = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], Resource = aws_dynamodb_table.lock.arn },
    ]
    }) : jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = local.reads, Resource = "*" },
      { Effect = "Allow", Action = "s3:GetObject", Resource = "arn:${local.p}:s3:::${local.state}/*" },
      { Effect = "Allow", Action = ["s3:PutObject", "s3:DeleteObject"], Resource = "arn:${local.p}:s3:::${local.state}/*.tflock" },
      { Effect = "Deny", Action = "iam:*", Resource = [aws_iam_role.deploy[each.key].arn, aws_iam_openid_connect_provider.github.arn] },
      { Effect = "Allow", Action = "s3:ListBucket", Resource = "arn:${local.p}:s3:::${local.state}" },
      { Effect = "Allow", Action = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], Resource = aws_dynamodb_table.lock.arn },
    ]
  })
}
