variable "name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "storage_class" {
  type        = string
  description = "STANDARD, STANDARD_IA or GLACIER_IR: objects move there after 30 days unless STANDARD."
}

variable "retention_days" {
  type        = number
  description = "Days after which objects expire; 0 keeps them."
}

variable "versioning" {
  type    = bool
  default = false
}
