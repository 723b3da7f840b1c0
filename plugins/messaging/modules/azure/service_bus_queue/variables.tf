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

variable "retention_seconds" {
  type = number
}

variable "visibility_timeout_seconds" {
  type = number
}

variable "max_deliveries" {
  type = number
}
