variable "name" {
  description = "Names the aggregator, the topic and its key alias."
  type        = string
}

variable "accounts" {
  description = "The platform's accounts: aggregated, and admitted to publish."
  type        = list(string)
}

variable "tags" {
  description = "Tags on every resource that takes them."
  type        = map(string)
  default     = {}
}
