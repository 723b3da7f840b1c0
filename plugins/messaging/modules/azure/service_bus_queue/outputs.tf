output "queue_id" {
  value = azurerm_servicebus_queue.this.id
}

output "namespace_endpoint" {
  value = azurerm_servicebus_namespace.this.endpoint
}
