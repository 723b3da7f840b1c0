# Cloud SQL for PostgreSQL with a private IP on the default network.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_sql_database_instance" "this" {
  name                = var.name
  region              = var.region
  database_version    = "POSTGRES_${var.engine_version}"
  deletion_protection = true

  settings {
    tier              = var.machine_tier
    disk_size         = var.storage_gb
    disk_type         = "PD_SSD"
    availability_type = var.high_availability ? "REGIONAL" : "ZONAL"
    user_labels       = var.labels

    backup_configuration {
      enabled = true
      backup_retention_settings {
        retained_backups = var.backup_retention_days
      }
    }

    ip_configuration {
      ipv4_enabled    = false
      private_network = "projects/${data.google_client_config.this.project}/global/networks/default"
    }
  }
}

data "google_client_config" "this" {}

resource "google_sql_database" "this" {
  name     = replace(var.name, "-", "_")
  instance = google_sql_database_instance.this.name
}
