variable "name" {
  type = string
}

variable "labels" {
  type    = map(string)
  default = {}
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
