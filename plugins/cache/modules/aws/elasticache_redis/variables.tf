variable "name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "node_type" {
  type = string
}

variable "high_availability" {
  type = bool
}
