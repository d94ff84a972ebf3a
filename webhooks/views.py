"""Merchant dashboard pages of webhooks (webhooks.manage): endpoints (add, edit, enable/disable, reveal and
rotate the secret, send a test event, replay a range) and their deliveries (request, answer, timing, redeliver)."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from permissions.decorators import require_capability
from webhooks import selectors, services
from webhooks.events import ALL_EVENTS, EVENT_TYPES
from webhooks.models import WebhookDelivery

CAP = "webhooks.manage"


def _types_from(post) -> list[str]:
    return post.getlist("event_types")


def _event_choices(selected) -> list[dict]:
    return [{"value": name, "label": et.label, "when": et.when, "checked": name in selected} for name, et in EVENT_TYPES.items()]


@require_capability(CAP)
def endpoints(request):
    form = {"values": {"url": "", "description": "", "event_types": []}, "error": None, "error_field": None}
    created = None
    if request.method == "POST":
        values = {"url": request.POST.get("url", ""), "description": request.POST.get("description", ""),
                  "event_types": _types_from(request.POST)}
        try:
            ep, secret = services.endpoint_create(actor=request.user, **values)
            created = {"endpoint": ep, "secret": secret}
            messages.success(request, _("Endpoint added. Copy its signing secret now."))
        except DomainError as err:
            form = {"values": values, "error": err.message, "error_field": (err.field or "").split("[")[0]}
    selected = form["values"]["event_types"]
    return render(request, "webhooks/endpoints.html", {
        "endpoints": selectors.endpoint_list_for_actor(actor=request.user), "form": form, "created": created,
        "event_choices": _event_choices(selected), "all_events": ALL_EVENTS in selected,
    }, status=400 if form["error"] else 200)


def _detail(request, endpoint_id, *, status=200, **extra):
    ep = selectors.endpoint_get_for_actor(actor=request.user, endpoint_id=endpoint_id)
    state = request.GET.get("status") or ""
    if state not in WebhookDelivery.Status.values:
        state = ""
    deliveries = selectors.delivery_list_for_actor(actor=request.user, endpoint_id=ep.pk, status=state or None)[:100]
    edit = extra.pop("edit", None) or {"values": {"url": ep.url, "description": ep.description,
                                                  "event_types": list(ep.event_types)}, "error": None, "error_field": None}
    return render(request, "webhooks/endpoint.html", {
        "endpoint": ep, "deliveries": deliveries, "statuses": WebhookDelivery.Status.choices, "status": state,
        "edit": edit, "event_choices": _event_choices(edit["values"]["event_types"]),
        "all_events": ALL_EVENTS in edit["values"]["event_types"], **extra,
    }, status=status)


@require_GET
@require_capability(CAP)
def endpoint(request, endpoint_id: int):
    return _detail(request, endpoint_id)


@require_POST
@require_capability(CAP)
def endpoint_edit(request, endpoint_id: int):
    values = {"url": request.POST.get("url", ""), "description": request.POST.get("description", ""),
              "event_types": _types_from(request.POST)}
    try:
        services.endpoint_update(actor=request.user, endpoint_id=endpoint_id, **values)
    except DomainError as err:
        if err.status == 404:
            raise
        return _detail(request, endpoint_id, status=400, edit={"values": values, "error": err.message,
                                                               "error_field": (err.field or "").split("[")[0]})
    messages.success(request, _("Endpoint saved."))
    return redirect("webhook-endpoint", endpoint_id=endpoint_id)


def _act(request, endpoint_id: int, action, success):
    """Run one service; its message (success: text, or a function of the service's result) or its error."""
    try:
        result = action()
    except DomainError as err:
        if err.status == 404:
            raise
        messages.error(request, err.message)
        return redirect("webhook-endpoint", endpoint_id=endpoint_id)
    messages.success(request, success(result) if callable(success) else success)
    return redirect("webhook-endpoint", endpoint_id=endpoint_id)


@require_POST
@require_capability(CAP)
def endpoint_toggle(request, endpoint_id: int):
    enable = request.POST.get("enabled") == "1"
    return _act(request, endpoint_id,
                lambda: services.endpoint_update(actor=request.user, endpoint_id=endpoint_id, enabled=enable),
                _("Endpoint enabled: waiting deliveries go out now.") if enable else _("Endpoint disabled."))


@require_POST
@require_capability(CAP)
def endpoint_secret(request, endpoint_id: int):
    secret = services.endpoint_secret_reveal(actor=request.user, endpoint_id=endpoint_id)
    return _detail(request, endpoint_id, secret=secret)


@require_POST
@require_capability(CAP)
def endpoint_rotate(request, endpoint_id: int):
    from core.inputs import parse_int

    try:
        hours = parse_int(request.POST.get("keep_previous_hours") or "24", field="keep_previous_hours", minimum=0, maximum=168)
        secret = services.endpoint_secret_rotate(actor=request.user, endpoint_id=endpoint_id, keep_previous_hours=hours)
    except DomainError as err:
        if err.status == 404:
            raise
        messages.error(request, err.message)
        return redirect("webhook-endpoint", endpoint_id=endpoint_id)
    messages.success(request, _("New signing secret. The previous one keeps signing for %(h)s hours.") % {"h": hours})
    return _detail(request, endpoint_id, secret=secret)


@require_POST
@require_capability(CAP)
def endpoint_test(request, endpoint_id: int):
    return _act(request, endpoint_id, lambda: services.endpoint_send_test(actor=request.user, endpoint_id=endpoint_id),
                _("Test event queued; it appears below once sent."))


@require_POST
@require_capability(CAP)
def endpoint_replay(request, endpoint_id: int):
    return _act(request, endpoint_id,
                lambda: services.deliveries_replay(actor=request.user, endpoint_id=endpoint_id,
                                                   since=request.POST.get("since", ""), until=request.POST.get("until", "")),
                lambda rows: _("%(n)s events queued to be sent again.") % {"n": len(rows)})


@require_GET
@require_capability(CAP)
def delivery(request, endpoint_id: int, delivery_id: int):
    d = selectors.delivery_get_for_actor(actor=request.user, delivery_id=delivery_id, endpoint_id=endpoint_id)
    return render(request, "webhooks/delivery.html", {"endpoint": d.endpoint, "delivery": d,
                                                      "attempts": d.attempt_log.all()})


@require_POST
@require_capability(CAP)
def delivery_redeliver(request, endpoint_id: int, delivery_id: int):
    selectors.delivery_get_for_actor(actor=request.user, delivery_id=delivery_id, endpoint_id=endpoint_id)
    return _act(request, endpoint_id, lambda: services.delivery_redeliver(actor=request.user, delivery_id=delivery_id),
                _("Queued to be sent again as a new delivery."))
