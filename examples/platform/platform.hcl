# Platform spec for bankplatform-gen: edit it, then run
#   bankplatform-gen generate --spec <this file> --out <dir>
# Accounts: exactly one each of role management, security, log_archive and
# shared_services, and one workload account per environment. Each environment's
# dr_strategy (backup_restore, pilot_light, warm_standby, multi_region) decides what
# runs in the secondary region. Network CIDRs come from the supernet unless an
# environment sets network { cidr = "..." }. pipelines.repository is the GitHub
# repository whose workflows may assume the deploy roles the bootstrap root makes in
# every account: set it to yours. See hcl-gen/README.md for every key.

organization {
  name = "acme-bank"
  tags = {
    cost_center = "platform"
    owner       = "cloud-platform-team"
  }
}

regions {
  primary   = "eu-west-1"
  secondary = "eu-central-1"
}

assume_role_name = "OrganizationAccountAccessRole"

state_backend {
  bucket_prefix = "acme-bank-tfstate"
  region        = "eu-west-1"
  lock          = true
}

provider {
  source  = "registry.terraform.io/bankplatform/bankplatform"
  version = "~> 0.1"
}

network {
  supernet                 = "10.0.0.0/8"
  prefix                   = 16
  az_count                 = 3
  flow_logs_retention_days = 365
}

tags = {
  compliance = "pci-dss"
}

features {
  log_archive       = true
  central_flow_logs = true
  gateway_endpoints = true
  replicate_storage = true
}

pipelines {
  repository        = "acme-bank/platform"
  terraform_version = "1.15.5"
}

account "management" {
  role  = "management"
  email = "aws+management@acme-bank.example"
  id    = "210000000001"
}

account "security" {
  role  = "security"
  email = "aws+security@acme-bank.example"
  id    = "210000000002"
}

account "log-archive" {
  role  = "log_archive"
  email = "aws+log-archive@acme-bank.example"
  id    = "210000000003"
}

account "shared-services" {
  role  = "shared_services"
  email = "aws+shared-services@acme-bank.example"
  id    = "210000000004"
}

account "development" {
  role  = "workload"
  email = "aws+development@acme-bank.example"
  id    = "210000000005"
}

account "testing" {
  role  = "workload"
  email = "aws+testing@acme-bank.example"
  id    = "210000000006"
}

account "production" {
  role  = "workload"
  email = "aws+production@acme-bank.example"
  id    = "210000000007"
}

environment "dev" {
  account     = "development"
  dr_strategy = "backup_restore"
}

environment "test" {
  account     = "testing"
  dr_strategy = "pilot_light"
}

environment "prod" {
  account     = "production"
  dr_strategy = "warm_standby"
}
