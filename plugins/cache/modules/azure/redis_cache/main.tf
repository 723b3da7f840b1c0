# Azure Cache for Redis: Basic (C, single node), Standard (C, replicated) or Premium (P).
terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm" }
  }
}

locals {
  family   = substr(var.sku, 0, 1)
  capacity = tonumber(substr(var.sku, 1, -1))
  sku_name = local.family == "P" ? "Premium" : (var.high_availability ? "Standard" : "Basic")
}

resource "azurerm_redis_cache" "this" {
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  family              = local.family
  capacity            = local.capacity
  sku_name            = local.sku_name
  minimum_tls_version = "1.2"
  tags                = var.tags
}
