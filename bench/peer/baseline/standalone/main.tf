# Standalone root for the baseline workload: one account's security baseline.
module "baseline" {
  source = "../"

  name          = "bank-bench"
  bucket_prefix = "bank-bench-baseline-"
  tags          = { Environment = "bench" }
}
