variable "name" {
  type        = string
  description = "Name of the service (also of its cluster and task family)."
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "image" {
  type = string
}

variable "cpu" {
  type        = number
  description = "vCPUs per task; Fargate takes CPU units (1 vCPU = 1024)."
}

variable "memory" {
  type        = number
  description = "MiB per task."
}

variable "instances" {
  type = number
}

variable "env" {
  type    = map(string)
  default = {}
}

variable "use_spot" {
  type    = bool
  default = false
}
