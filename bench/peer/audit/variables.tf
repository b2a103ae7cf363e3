variable "name" {
  description = "Trail name; names the key alias, log group, role, topic and alarms."
  type        = string
}

variable "bucket_prefix" {
  description = "Prefix of the audit bucket's name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
