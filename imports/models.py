"""Channel order import jobs (public schema): one row per uploaded file, a merchant's or the operator's.

A merchant's job (merchant set) imports that store's orders; the operator's job (merchant empty) imports a
multi-merchant file on the mall host. Public, so the operator sees every job and a job's row needs no
schema switch to be polled; a merchant only ever sees its own (imports.selectors). The uploaded file is not
stored here: it stays on disk under var/imports/orders/<job id> (MALLARD_IMPORT_DIR) until the job ends.
"""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OrderImportJob(models.Model):
    class Status(models.TextChoices):
        VALIDATING = "validating", _("Checking the file")
        READY = "ready", _("Ready to import")
        REJECTED = "rejected", _("Rejected")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # unguessable in URLs
    merchant = models.ForeignKey("tenants.Merchant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=8, default="web")  # web | api
    file_format = models.CharField(max_length=12, blank=True, default="")  # mallard | shopify | taobao
    channel = models.CharField(max_length=32, blank=True, default="")
    filename = models.CharField(max_length=200, blank=True, default="")
    encoding = models.CharField(max_length=12, blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALIDATING)
    total_orders = models.IntegerField(default=0)
    processed_orders = models.IntegerField(default=0)
    created_orders = models.IntegerField(default=0)
    skipped_orders = models.IntegerField(default=0)
    error_count = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{row, field, message}], the first ERRORS_CAP
    summary = models.JSONField(default=dict, blank=True)  # preview: orders, lines, merchants, already imported
    message = models.TextField(blank=True, default="")  # why a job failed while writing
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["merchant", "-created_at"], name="order_import_job_list_idx")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.processed_orders / self.total_orders) if self.total_orders else 0
