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
  type        = number
  description = "Seconds a message is kept before it expires."
}
