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

variable "image" {
  type = string
}

variable "cpu" {
  type        = number
  description = "vCPUs per replica (0.25 steps)."
}

variable "memory" {
  type        = number
  description = "MiB per replica."
}

variable "instances" {
  type = number
}

variable "env" {
  type    = map(string)
  default = {}
}
