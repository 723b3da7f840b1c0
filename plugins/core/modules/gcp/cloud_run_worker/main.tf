# Cloud Run service for a background worker: no public ingress, CPU always allocated, a fixed
# number of instances.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_cloud_run_v2_service" "this" {
  name     = var.name
  location = var.region
  labels   = var.labels
  ingress  = "INGRESS_TRAFFIC_INTERNAL_ONLY"

  template {
    scaling {
      min_instance_count = var.instances
      max_instance_count = var.instances
    }

    containers {
      image = var.image

      resources {
        cpu_idle = false
        limits = {
          cpu    = var.cpu < 1 ? "1" : tostring(ceil(var.cpu))
          memory = "${var.memory}Mi"
        }
      }

      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }
}
