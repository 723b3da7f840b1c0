output "topic_id" {
  value = google_pubsub_topic.this.id
}
