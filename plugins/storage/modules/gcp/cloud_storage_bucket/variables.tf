variable "name" {
  type = string
}

variable "labels" {
  type    = map(string)
  default = {}
}

variable "location" {
  type = string
}

variable "storage_class" {
  type        = string
  description = "STANDARD, NEARLINE or ARCHIVE."
}

variable "retention_days" {
  type        = number
  description = "Days after which objects are deleted; 0 keeps them."
}
