"""Background exports: one row per export a person asked for (reports/exports.py runs it)."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """A CSV/XLSX export made by a Celery task (exports_run) and kept for EXPORT_KEEP_DAYS.

    In `public`: merchant_id is the store whose rows are exported (None: an operator's export of the mall).
    The file is stored through Django's storage API under exports/<merchant or mall>/<id>.<format>.
    Only the actor who asked (on the same merchant) may download it.
    """

    class Kind(models.TextChoices):
        SUBORDERS = "suborders", _("Suborders")
        STOCK = "stock", _("Stock levels")
        JOURNAL = "journal", _("Stock journal")
        AUDIT = "audit", _("Audit trail")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # unguessable in URLs
    merchant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    filters = models.JSONField(default=dict, blank=True)  # the list's query parameters, as given
    format = models.CharField(max_length=4, choices=Format.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.IntegerField(null=True, blank=True)  # known at start (None: unknown)
    row_count = models.IntegerField(default=0)
    file_name = models.CharField(max_length=300, blank=True, default="")
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["actor", "-created_at"], name="reports_export_actor_idx")]

    @property
    def progress(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.row_count * 100 // self.total_rows)
