variable "name" {
  description = "Names the guardrail policies."
  type        = string
}

variable "allowed_regions" {
  description = "Regions member accounts may act in (global services excepted)."
  type        = list(string)
}

variable "exempt_roles" {
  description = "Roles the baseline and Region guardrails let through."
  type        = list(string)
}

variable "tags" {
  description = "Tags on every resource that takes them."
  type        = map(string)
  default     = {}
}
