output "url" {
  value = "https://${azurerm_container_app.this.ingress[0].fqdn}"
}

output "container_app_name" {
  value = azurerm_container_app.this.name
}
