variable "name" {
  description = "Names the key alias, the recorder, its role and rules."
  type        = string
}

variable "bucket_prefix" {
  description = "Prefix of the audit bucket's name."
  type        = string
}

variable "tags" {
  description = "Tags on every resource that takes them."
  type        = map(string)
  default     = {}
}
