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

variable "sku" {
  type        = string
  description = "Family and capacity: C0 to C6 (Basic or Standard), P1 to P5 (Premium)."
}

variable "high_availability" {
  type = bool
}
