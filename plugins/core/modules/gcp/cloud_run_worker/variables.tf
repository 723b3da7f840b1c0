variable "name" {
  type = string
}

variable "labels" {
  type    = map(string)
  default = {}
}

variable "region" {
  type = string
}

variable "image" {
  type = string
}

variable "cpu" {
  type        = number
  description = "vCPUs per instance."
}

variable "memory" {
  type        = number
  description = "MiB per instance."
}

variable "instances" {
  type = number
}

variable "env" {
  type    = map(string)
  default = {}
}
