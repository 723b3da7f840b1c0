variable "name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "fifo" {
  type    = bool
  default = false
}
