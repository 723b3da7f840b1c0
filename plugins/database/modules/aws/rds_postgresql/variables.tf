variable "name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "instance_class" {
  type = string
}

variable "engine_version" {
  type        = string
  description = "PostgreSQL major version."
}

variable "storage_gb" {
  type = number
}

variable "high_availability" {
  type = bool
}

variable "backup_retention_days" {
  type = number
}
