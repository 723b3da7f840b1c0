output "bucket_name" {
  value = aws_s3_bucket.this.bucket
}

output "bucket_url" {
  value = "https://${aws_s3_bucket.this.bucket_regional_domain_name}"
}
