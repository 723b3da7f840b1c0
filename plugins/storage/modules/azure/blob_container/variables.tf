variable "name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "access_tier" {
  type        = string
  description = "Hot or Cool."
}

variable "retention_days" {
  type        = number
  description = "Days after which blobs are deleted; 0 keeps them."
}
