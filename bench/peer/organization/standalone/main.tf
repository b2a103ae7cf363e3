# Standalone root for the organization workload: the management account's organization.
module "organization" {
  source = "../"

  name            = "bank-bench"
  allowed_regions = ["us-east-1", "us-west-2"]
  exempt_roles    = ["OrganizationAccountAccessRole", "bankplatform-deploy"]
  tags            = { Environment = "bench" }
}
