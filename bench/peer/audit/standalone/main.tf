# Standalone root for the audit workload: the audit bucket and trail.
module "audit" {
  source = "../"

  name          = "bank-bench-audit"
  bucket_prefix = "bank-bench-audit-"
  tags          = { Environment = "bench" }
}

output "trail_arn" {
  value = module.audit.trail_arn
}
