# The organization layer written with hashicorp/aws 3.39, as a platform team would:
# the organization with all features, SCPs enabled and trusted access for the security
# services; the OU tree; the same three guardrail SCPs, AI services opt-out and tag
# policy as bankplatform_organization, each attached to the root. (3.39 has no
# resource for centralized root access; delegated administrators need member
# accounts, left out of both sides.)

locals {
  exempt = [for r in var.exempt_roles : "arn:*:iam::*:role/${r}"]
  protected = [
    "cloudtrail:DeleteTrail", "cloudtrail:PutEventSelectors", "cloudtrail:StopLogging", "cloudtrail:UpdateTrail",
    "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel", "config:StopConfigurationRecorder",
    "guardduty:DeleteDetector", "guardduty:DeletePublishingDestination",
    "guardduty:DisassociateFromAdministratorAccount", "guardduty:DisassociateFromMasterAccount",
    "securityhub:BatchDisableStandards", "securityhub:DisableSecurityHub",
    "securityhub:DisassociateFromAdministratorAccount", "securityhub:DisassociateFromMasterAccount",
    "access-analyzer:DeleteAnalyzer", "ec2:DisableEbsEncryptionByDefault",
    "iam:DeleteAccountPasswordPolicy", "s3:PutAccountPublicAccessBlock",
    "kms:DisableKey", "kms:ScheduleKeyDeletion",
  ]
  global = [
    "a4b:*", "acm:*", "aws-marketplace-management:*", "aws-marketplace:*", "aws-portal:*", "budgets:*",
    "ce:*", "chime:*", "cloudfront:*", "config:*", "cur:*", "directconnect:*", "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways", "ec2:DescribeVpnGateways", "fms:*", "globalaccelerator:*", "health:*",
    "iam:*", "importexport:*", "kms:*", "mobileanalytics:*", "networkmanager:*", "organizations:*",
    "pricing:*", "route53:*", "route53domains:*", "route53-recovery-cluster:*",
    "route53-recovery-control-config:*", "route53-recovery-readiness:*", "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets", "s3:ListMultiRegionAccessPoints", "s3:PutAccountPublic*", "shield:*",
    "sts:*", "support:*", "trustedadvisor:*", "waf-regional:*", "waf:*", "wafv2:*", "wellarchitected:*",
  ]
  tag_keys = ["owner", "cost_center", "data_class", "compliance"]
  guardrails = {
    "protect-baseline" = {
      type = "SERVICE_CONTROL_POLICY"
      document = {
        Version = "2012-10-17"
        Statement = [{
          Sid       = "ProtectSecurityBaseline", Effect = "Deny", Action = local.protected, Resource = "*"
          Condition = { ArnNotLike = { "aws:PrincipalArn" = local.exempt } }
        }]
      }
    }
    "deny-root-and-leaving" = {
      type = "SERVICE_CONTROL_POLICY"
      document = {
        Version = "2012-10-17"
        Statement = [
          {
            Sid       = "DenyRootUser", Effect = "Deny", Action = "*", Resource = "*"
            Condition = { ArnLike = { "aws:PrincipalArn" = "arn:*:iam::*:root" } }
          },
          { Sid = "DenyLeavingOrganization", Effect = "Deny", Action = "organizations:LeaveOrganization", Resource = "*" },
        ]
      }
    }
    "allowed-regions" = {
      type = "SERVICE_CONTROL_POLICY"
      document = {
        Version = "2012-10-17"
        Statement = [{
          Sid = "DenyOutsideAllowedRegions", Effect = "Deny", NotAction = local.global, Resource = "*"
          Condition = {
            StringNotEquals = { "aws:RequestedRegion" = var.allowed_regions }
            ArnNotLike      = { "aws:PrincipalArn" = local.exempt }
          }
        }]
      }
    }
    "ai-opt-out" = {
      type = "AISERVICES_OPT_OUT_POLICY"
      document = { services = { default = { opt_out_policy = {
        "@@assign" = "optOut", "@@operators_allowed_for_child_policies" = ["@@none"]
      } } } }
    }
    "tag-keys" = {
      type     = "TAG_POLICY"
      document = { tags = { for k in local.tag_keys : k => { tag_key = { "@@assign" = k } } } }
    }
  }
}

resource "aws_organizations_organization" "this" {
  feature_set          = "ALL"
  enabled_policy_types = ["SERVICE_CONTROL_POLICY", "AISERVICES_OPT_OUT_POLICY", "TAG_POLICY"]
  aws_service_access_principals = [
    "access-analyzer.amazonaws.com", "cloudtrail.amazonaws.com", "config.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com", "guardduty.amazonaws.com", "securityhub.amazonaws.com",
  ]
}

resource "aws_organizations_organizational_unit" "top" {
  for_each  = toset(["Security", "Infrastructure", "Workloads", "Sandbox", "Suspended"])
  name      = each.key
  parent_id = aws_organizations_organization.this.roots[0].id
  tags      = var.tags
}

resource "aws_organizations_organizational_unit" "workloads" {
  for_each  = toset(["Prod", "NonProd"])
  name      = each.key
  parent_id = aws_organizations_organizational_unit.top["Workloads"].id
  tags      = var.tags
}

resource "aws_organizations_policy" "guardrail" {
  for_each = local.guardrails
  name     = "${var.name}-${each.key}"
  type     = each.value.type
  content  = jsonencode(each.value.document)
  tags     = var.tags
}

resource "aws_organizations_policy_attachment" "root" {
  for_each  = aws_organizations_policy.guardrail
  policy_id = each.value.id
  target_id = aws_organizations_organization.this.roots[0].id
}
