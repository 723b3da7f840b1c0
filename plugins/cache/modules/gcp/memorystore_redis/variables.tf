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

variable "memory_size_gb" {
  type = number
}

variable "high_availability" {
  type = bool
}
