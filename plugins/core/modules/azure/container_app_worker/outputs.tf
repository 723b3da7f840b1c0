output "container_app_name" {
  value = azurerm_container_app.this.name
}
