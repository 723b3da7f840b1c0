output "url" {
  value = "http://${aws_lb.web.dns_name}"
}

output "service_name" {
  value = aws_ecs_service.this.name
}
