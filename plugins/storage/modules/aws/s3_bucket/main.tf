# S3 bucket, private, with the lifecycle the portable tier and retention ask for.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  count  = var.versioning ? 1 : 0
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count  = var.retention_days > 0 || var.storage_class != "STANDARD" ? 1 : 0
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "portable-tier-and-retention"
    status = "Enabled"

    filter {}

    dynamic "transition" {
      for_each = var.storage_class != "STANDARD" ? [var.storage_class] : []
      content {
        days          = 30
        storage_class = transition.value
      }
    }

    dynamic "expiration" {
      for_each = var.retention_days > 0 ? [var.retention_days] : []
      content {
        days = expiration.value
      }
    }
  }
}
