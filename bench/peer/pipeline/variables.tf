variable "name" {
  description = "Names the lock table, its key alias and the roles."
  type        = string
}

variable "repository" {
  description = "The GitHub repository whose workflows may assume the roles."
  type        = string
}

variable "tags" {
  description = "Tags on every resource that takes them."
  type        = map(string)
  default     = {}
}
