# RDS for PostgreSQL, private, the master password kept in Secrets Manager by RDS.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

resource "aws_db_instance" "this" {
  identifier                  = var.name
  engine                      = "postgres"
  engine_version              = var.engine_version
  instance_class              = var.instance_class
  allocated_storage           = var.storage_gb
  storage_type                = "gp3"
  multi_az                    = var.high_availability
  backup_retention_period     = var.backup_retention_days
  db_name                     = replace(var.name, "-", "_")
  username                    = "app"
  manage_master_user_password = true
  publicly_accessible         = false
  skip_final_snapshot         = false
  final_snapshot_identifier   = "${var.name}-final"
  tags                        = var.tags
}
