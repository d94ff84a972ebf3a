"""Merchant dashboard: the store's shipping rules (list, create, edit, deactivate)."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, ValidationFailed
from core.money import Money
from core.tenancy import current_merchant
from fulfillment.selectors import shipping_rule_list
from fulfillment.services import shipping_rule_create, shipping_rule_deactivate, shipping_rule_update
from permissions.decorators import require_capability

FORM_FIELDS = ("name", "regions", "flat", "per_kg", "free_over")
# form field -> the service's field name, so a service error lands next to the right input
_SERVICE_FIELD = {"flat_minor": "flat", "per_kg_minor": "per_kg", "free_over_minor": "free_over"}


def _amount(text: str, currency: str, *, field: str, optional: bool = False) -> int | None:
    text = (text or "").strip()
    if not text:
        if optional:
            return None
        text = "0"
    minor = Money.parse(text, currency, field=field).minor
    if minor < 0:
        raise ValidationFailed(_("The amount must not be negative."), field=field)
    return minor


def _parse(post, currency: str) -> dict:
    """Form text -> the service's typed arguments; amounts are decimal text in the store's currency."""
    return {
        "name": post.get("name", ""),
        "regions": [r for r in post.get("regions", "").split(",")],
        "flat_minor": _amount(post.get("flat", ""), currency, field="flat"),
        "per_kg_minor": _amount(post.get("per_kg", ""), currency, field="per_kg"),
        "free_over_minor": _amount(post.get("free_over", ""), currency, field="free_over", optional=True),
        "currency": currency,
    }


def _as_text(minor, currency: str) -> str:
    return "" if minor is None else str(Money(minor, currency).to_decimal())


def _initial(rule) -> dict:
    return {"name": rule.name, "regions": ", ".join(rule.regions), "flat": _as_text(rule.flat_minor, rule.currency),
            "per_kg": _as_text(rule.per_kg_minor, rule.currency), "free_over": _as_text(rule.free_over_minor, rule.currency)}


def _save(request, *, rule=None):
    """Parse and call the one service; on a domain error, the same form comes back with the error."""
    currency = rule.currency if rule else current_merchant().default_currency
    values = {f: request.POST.get(f, "") for f in FORM_FIELDS}
    try:
        args = _parse(request.POST, currency)
        if rule is None:
            shipping_rule_create(actor=request.user, **args)
        else:
            shipping_rule_update(actor=request.user, rule_id=rule.pk, **args)
    except DomainError as err:
        return None, {"values": values, "error": err.message, "error_field": _SERVICE_FIELD.get(err.field, err.field)}
    return True, None


@require_capability("shipping.edit")
def shipping_rules(request):
    form = {"values": {}, "error": None, "error_field": None}
    if request.method == "POST":
        ok, form = _save(request)
        if ok:
            messages.success(request, _("Shipping method added."))
            return redirect("shipping-rules")
    status = 400 if form["error"] else 200
    return render(request, "fulfillment/shipping_rules.html", {
        "rules": shipping_rule_list(), "form": form, "currency": current_merchant().default_currency,
    }, status=status)


def _rule_or_404(rule_id: int):
    rule = shipping_rule_list().filter(pk=rule_id).first()
    if rule is None:
        raise Http404(_("No such shipping rule in this store."))
    return rule


@require_capability("shipping.edit")
def shipping_rule_edit(request, rule_id: int):
    rule = _rule_or_404(rule_id)
    form = {"values": _initial(rule), "error": None, "error_field": None}
    if request.method == "POST":
        ok, form = _save(request, rule=rule)
        if ok:
            messages.success(request, _("Shipping method saved."))
            return redirect("shipping-rules")
    return render(request, "fulfillment/shipping_rule_edit.html", {"rule": rule, "form": form, "currency": rule.currency},
                  status=400 if form["error"] else 200)


@require_POST
@require_capability("shipping.edit")
def shipping_rule_deactivate_view(request, rule_id: int):
    rule = _rule_or_404(rule_id)
    shipping_rule_deactivate(actor=request.user, rule_id=rule.pk)
    messages.success(request, _("%(name)s is no longer offered.") % {"name": rule.name})
    return redirect("shipping-rules")
