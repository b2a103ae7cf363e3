# Standalone root for the security workload: the security account's stack.
module "security" {
  source = "../"

  name     = "bank-bench"
  accounts = ["210000000005", "210000000006", "210000000007"]
  tags     = { Environment = "bench" }
}
