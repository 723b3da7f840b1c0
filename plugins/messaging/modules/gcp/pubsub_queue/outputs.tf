output "subscription_id" {
  value = google_pubsub_subscription.this.id
}

output "topic_id" {
  value = google_pubsub_topic.this.id
}
