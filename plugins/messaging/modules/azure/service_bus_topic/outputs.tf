output "topic_id" {
  value = azurerm_servicebus_topic.this.id
}

output "namespace_endpoint" {
  value = azurerm_servicebus_namespace.this.endpoint
}
