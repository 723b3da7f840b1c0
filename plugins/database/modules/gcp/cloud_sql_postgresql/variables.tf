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

variable "machine_tier" {
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
