"""Super-admin: the operator edits transit times (the ETA table) and can look up any tracking number."""
from django import forms
from django.contrib import admin

from carriers.models import TrackingIndex, TransitTime
from fulfillment.carriers import CARRIERS
from permissions.admin_access import PlatformCapabilityAdmin


class TransitTimeForm(forms.ModelForm):
    class Meta:
        model = TransitTime
        fields = ["carrier", "service", "from_region", "to_region", "days_min", "days"]

    def clean_carrier(self):
        code = self.cleaned_data["carrier"].strip().lower()
        if code not in CARRIERS:
            raise forms.ValidationError(f"Unknown carrier; choose one of {', '.join(CARRIERS)}.")
        return code

    def clean_service(self):
        return self.cleaned_data["service"].strip() or "*"

    def _region(self, name):
        return self.cleaned_data[name].strip().upper() or "*"

    def clean_from_region(self):
        return self._region("from_region")

    def clean_to_region(self):
        return self._region("to_region")

    def clean(self):
        data = super().clean()
        if data.get("days") is not None and data.get("days_min") is not None and data["days_min"] > data["days"]:
            self.add_error("days_min", "The fastest delivery cannot be slower than the estimate.")
        return data


@admin.register(TransitTime)
class TransitTimeAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    view_capability = "parcels.view"
    change_capability = add_capability = delete_capability = "carriers.manage"
    form = TransitTimeForm
    list_display = ("carrier", "service", "from_region", "to_region", "days_min", "days", "updated_at")
    list_editable = ("days_min", "days")
    list_filter = ("carrier",)
    search_fields = ("carrier", "from_region", "to_region", "service")


@admin.register(TrackingIndex)
class TrackingIndexAdmin(PlatformCapabilityAdmin, admin.ModelAdmin):
    """Read-only: rows are written by shipments and carrier events, never by hand."""

    view_capability = "parcels.view"

    list_display = ("carrier", "tracking_number", "merchant", "shipment_id", "status", "last_event_at",
                    "estimated_delivery_at", "flagged_reason")
    list_filter = ("status", "flagged_reason", "carrier")
    search_fields = ("tracking_number",)
    list_select_related = ("merchant",)
    readonly_fields = [f.name for f in TrackingIndex._meta.fields]
