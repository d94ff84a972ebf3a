"""The Celery app. Tasks carry the schema they were sent from (tenant-schemas-celery)."""
import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("mallard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(lambda: ["core", "tenants", "merchants", "catalog", "orders", "suborders", "fulfillment", "payments", "notifications", "reports", "support", "permissions", "webhooks"])
app.autodiscover_tasks(lambda: ["catalog"], related_name="bulk_tasks")  # catalog bulk import (catalog/bulk_tasks.py)
app.autodiscover_tasks(lambda: ["reports"], related_name="exports")  # background exports (reports/exports.py)
app.autodiscover_tasks(lambda: ["reports"], related_name="forecast_jobs")  # nightly restock forecasts
