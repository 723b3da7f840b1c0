output "container_name" {
  value = azurerm_storage_container.this.name
}

output "container_url" {
  value = "${azurerm_storage_account.this.primary_blob_endpoint}${azurerm_storage_container.this.name}"
}
