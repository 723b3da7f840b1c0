# SNS topic: publish once, every subscription gets a copy.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

resource "aws_sns_topic" "this" {
  name                        = var.fifo ? "${var.name}.fifo" : var.name
  fifo_topic                  = var.fifo
  content_based_deduplication = var.fifo
  tags                        = var.tags
}
