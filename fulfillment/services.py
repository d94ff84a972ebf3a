"""Shipping-rule writes of one merchant (merchant schema): create, update, deactivate; every change audited."""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import NotFound, ValidationFailed
from core.money import exponent
from core.tenancy import merchant_only
from fulfillment.models import ShippingRule
from permissions.services import audit_record

MAX_AMOUNT_MINOR = 10**12  # far above any real shipping price; keeps typos such as 1e15 out
MAX_REGIONS = 100
_FIELDS = ("name", "regions", "flat_minor", "per_kg_minor", "free_over_minor", "currency", "is_active")


def _snapshot(rule: ShippingRule) -> dict:
    return {f: getattr(rule, f) for f in _FIELDS}


def _authorize(actor) -> None:
    """A person's (or a token's) shipping-rule change needs shipping.edit; seeding passes no actor."""
    if actor is None:
        return
    from core.tenancy import current_merchant
    from permissions.policy import authorize

    authorize(actor, "shipping.edit", merchant=current_merchant())


def _clean(*, name: str, regions: list[str], flat_minor: int, per_kg_minor: int, free_over_minor: int | None,
           currency: str) -> dict:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the shipping method a name."), field="name")
    if len(name) > 120:
        raise ValidationFailed(_("The name is longer than 120 characters."), field="name")
    exponent(currency)  # unsupported currency -> ValidationFailed(field="currency")
    cleaned_regions: list[str] = []
    for region in regions:
        region = (region or "").strip()
        if not region:
            continue
        if len(region) > 60:
            raise ValidationFailed(_("Region %(r)s is longer than 60 characters.") % {"r": region[:20]}, field="regions")
        if region not in cleaned_regions:
            cleaned_regions.append(region)
    if len(cleaned_regions) > MAX_REGIONS:
        raise ValidationFailed(_("At most %(n)s regions per rule.") % {"n": MAX_REGIONS}, field="regions")
    amounts = {"flat_minor": flat_minor, "per_kg_minor": per_kg_minor, "free_over_minor": free_over_minor}
    for field, value in amounts.items():
        if value is None and field == "free_over_minor":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(_("The amount must be a whole number of minor units."), field=field)
        if value < 0:
            raise ValidationFailed(_("The amount must not be negative."), field=field)
        if value > MAX_AMOUNT_MINOR:
            raise ValidationFailed(_("The amount is too large."), field=field)
    return {"name": name, "regions": cleaned_regions, "currency": currency, **amounts}


@merchant_only
def shipping_rule_create(*, actor, name: str, regions: list[str], flat_minor: int, per_kg_minor: int = 0,
                         free_over_minor: int | None = None, currency: str = "CNY") -> ShippingRule:
    _authorize(actor)
    values = _clean(name=name, regions=regions, flat_minor=flat_minor, per_kg_minor=per_kg_minor,
                    free_over_minor=free_over_minor, currency=currency)
    with transaction.atomic():
        rule = ShippingRule.objects.create(**values)
        audit_record(actor=actor, entity="shipping_rule", entity_id=rule.pk, action="create", after=_snapshot(rule))
    return rule


def _locked(rule_id: int) -> ShippingRule:
    rule = ShippingRule.objects.select_for_update(of=("self",)).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such shipping rule in this store."), field="rule_id")
    return rule


@merchant_only
def shipping_rule_update(*, actor, rule_id: int, name: str, regions: list[str], flat_minor: int, per_kg_minor: int = 0,
                         free_over_minor: int | None = None, currency: str = "CNY") -> ShippingRule:
    _authorize(actor)
    values = _clean(name=name, regions=regions, flat_minor=flat_minor, per_kg_minor=per_kg_minor,
                    free_over_minor=free_over_minor, currency=currency)
    with transaction.atomic():
        rule = _locked(rule_id)
        before = _snapshot(rule)
        for key, value in values.items():
            setattr(rule, key, value)
        rule.save(update_fields=list(values))
        audit_record(actor=actor, entity="shipping_rule", entity_id=rule.pk, action="update", before=before, after=_snapshot(rule))
    return rule


@merchant_only
def shipping_rule_deactivate(*, actor, rule_id: int) -> ShippingRule:
    """Stop offering a method; past suborders keep its name. Deactivating twice is a no-op."""
    _authorize(actor)
    with transaction.atomic():
        rule = _locked(rule_id)
        if not rule.is_active:
            return rule
        before = _snapshot(rule)
        rule.is_active = False
        rule.save(update_fields=["is_active"])
        audit_record(actor=actor, entity="shipping_rule", entity_id=rule.pk, action="deactivate", before=before, after=_snapshot(rule))
    return rule
