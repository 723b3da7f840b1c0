# A queue on Pub/Sub: a topic with one pull subscription and a dead-letter topic.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_pubsub_topic" "this" {
  name   = var.name
  labels = var.labels
}

resource "google_pubsub_topic" "dead_letter" {
  name   = "${var.name}-dead-letter"
  labels = var.labels
}

resource "google_pubsub_subscription" "this" {
  name                       = var.name
  topic                      = google_pubsub_topic.this.id
  labels                     = var.labels
  ack_deadline_seconds       = var.visibility_timeout_seconds
  message_retention_duration = "${var.retention_seconds}s"

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = max(5, var.max_deliveries)
  }
}
