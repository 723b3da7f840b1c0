# Service Bus namespace (Standard: topics need it) with one topic.
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

resource "azurerm_servicebus_topic" "this" {
  name                = var.name
  namespace_id        = azurerm_servicebus_namespace.this.id
  default_message_ttl = "PT${var.retention_seconds}S"
}
