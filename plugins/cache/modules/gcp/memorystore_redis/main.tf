# Memorystore for Redis: BASIC, or STANDARD_HA with a replica.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_redis_instance" "this" {
  name                    = var.name
  region                  = var.region
  tier                    = var.high_availability ? "STANDARD_HA" : "BASIC"
  memory_size_gb          = var.memory_size_gb
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  labels                  = var.labels
}
