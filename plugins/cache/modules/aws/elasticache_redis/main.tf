# ElastiCache for Redis replication group, encrypted, with a replica when highly available.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "cratis cache ${var.name}"
  engine                     = "redis"
  node_type                  = var.node_type
  num_cache_clusters         = var.high_availability ? 2 : 1
  automatic_failover_enabled = var.high_availability
  multi_az_enabled           = var.high_availability
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  port                       = 6379
  tags                       = var.tags
}
