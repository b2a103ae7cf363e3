# Standalone root for the pipeline workload: one account's lock table and deploy roles.
module "pipeline" {
  source = "../"

  name       = "bank-bench"
  repository = "acme-bank/platform"
  tags       = { Environment = "bench" }
}
