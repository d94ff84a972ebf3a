"""Console page: parcels of every merchant that need a look (carrier exception, or no scan for
TRACKING_STALE_DAYS), answered from the public tracking index."""
from django.conf import settings
from django.shortcuts import render

from carriers.selectors import parcels_flagged_for_operator
from core.tenancy import assert_public_schema
from permissions.decorators import require_platform_capability


@require_platform_capability("parcels.view")
def console_parcels(request):
    assert_public_schema()
    reason = request.GET.get("reason", "")
    parcels = parcels_flagged_for_operator()
    if reason in ("exception", "stale"):
        parcels = [p for p in parcels if p.reason == reason]
    return render(request, "console/parcels.html", {"parcels": parcels, "reason": reason,
                                                    "stale_days": settings.TRACKING_STALE_DAYS})
