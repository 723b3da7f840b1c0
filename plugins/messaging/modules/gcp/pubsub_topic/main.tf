# Pub/Sub topic keeping published messages for a retention period (subscribers add their own
# subscriptions).
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_pubsub_topic" "this" {
  name                       = var.name
  labels                     = var.labels
  message_retention_duration = "${var.retention_seconds}s"
}
