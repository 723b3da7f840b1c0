variable "name" {
  type = string
}

variable "labels" {
  type    = map(string)
  default = {}
}

variable "retention_seconds" {
  type        = number
  description = "Seconds a published message is kept (600 to 604800)."
}
