output "private_ip_address" {
  value = google_sql_database_instance.this.private_ip_address
}

output "port" {
  value = 5432
}
