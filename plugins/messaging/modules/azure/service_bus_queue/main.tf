# Service Bus namespace (Standard) with one queue; dead-lettering is built in.
terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm" }
  }
}

resource "azurerm_servicebus_namespace" "this" {
  name                = "${var.name}-bus"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = "Standard"
  tags                = var.tags
}

resource "azurerm_servicebus_queue" "this" {
  name                                 = var.name
  namespace_id                         = azurerm_servicebus_namespace.this.id
  default_message_ttl                  = "PT${var.retention_seconds}S"
  lock_duration                        = "PT${min(300, var.visibility_timeout_seconds)}S"
  max_delivery_count                   = var.max_deliveries
  dead_lettering_on_message_expiration = true
}
