"""Merchant onboarding and lifecycle: create (schema + domain + owner), suspend, reinstate."""
import re

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.outbox import outbox_emit
from core.tenancy import platform_only
from permissions.services import audit_record, membership_grant
from tenants.models import Merchant
from tenants.selectors import merchant_host
from tenants.services import merchant_domain_set, merchant_schema_provision

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = {"www", "admin", "api", "public", "static", "mail", "_template"}


@platform_only
def merchant_create(*, slug: str, name: str, contact_email: str | None = None, currency: str = "CNY",
                    owner=None, actor=None) -> Merchant:
    _operator_authorize(actor)
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise ValidationFailed(
            _("Slug must be 3–40 lowercase letters, digits or hyphens, start with a letter, and not be reserved."),
            field="slug",
        )
    if not name:
        raise ValidationFailed(_("Name is required."), field="name")
    if Merchant.objects.filter(slug=slug).exists():
        raise ValidationFailed(_("A merchant with slug “%(slug)s” already exists.") % {"slug": slug}, field="slug")
    schema_name = "m_" + slug.replace("-", "_")
    # Schema DDL and the rows commit together: a failure leaves neither behind.
    with transaction.atomic():
        merchant = Merchant.objects.create(
            slug=slug, name=name, schema_name=schema_name, contact_email=contact_email or "", default_currency=currency
        )
        merchant_schema_provision(merchant=merchant)
        host = merchant_host(merchant)
        merchant_domain_set(merchant=merchant, host=host)
        if owner is not None:
            membership_grant(user=owner, merchant=merchant, roles=["owner"], actor=actor)
        audit_record(actor=actor, entity="merchant", entity_id=merchant.pk, action="create",
                     after={"slug": slug, "name": name}, schema_name=settings.PUBLIC_SCHEMA_NAME)
        outbox_emit(topic="merchant.created", aggregate_type="merchant", aggregate_id=merchant.pk,
                    payload={"name": name, "slug": slug, "host": host, "contact_email": contact_email or ""})
    return merchant


def _operator_authorize(actor) -> None:
    """A person onboarding, suspending or reinstating a merchant needs merchants.manage (platform admin);
    system work (seeding, benchmarks) passes no actor."""
    if actor is not None:
        from permissions.policy import authorize

        authorize(actor, "merchants.manage")


def _merchant_status_set(*, merchant: Merchant, to: str, reason: str, action: str, topic: str, actor=None) -> Merchant:
    """The one place that assigns Merchant.status: row lock, audit entry and outbox event together."""
    _operator_authorize(actor)
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
        before = merchant.status
        merchant.status = to
        merchant.suspended_reason = (reason or "")[:300] if to == Merchant.Status.SUSPENDED else ""
        merchant.save(update_fields=["status", "suspended_reason"])
        after = {"status": to, "reason": reason} if to == Merchant.Status.SUSPENDED else {"status": to}
        audit_record(actor=actor, entity="merchant", entity_id=merchant.pk, action=action,
                     before={"status": before}, after=after, schema_name=settings.PUBLIC_SCHEMA_NAME)
        outbox_emit(topic=topic, aggregate_type="merchant", aggregate_id=merchant.pk, payload={})
    return merchant


@platform_only
def merchant_suspend(*, merchant: Merchant, reason: str, actor=None) -> Merchant:
    return _merchant_status_set(merchant=merchant, to=Merchant.Status.SUSPENDED, reason=reason, action="suspend",
                                topic="merchant.suspended", actor=actor)


@platform_only
def merchant_reinstate(*, merchant: Merchant, actor=None) -> Merchant:
    return _merchant_status_set(merchant=merchant, to=Merchant.Status.ACTIVE, reason="", action="reinstate",
                                topic="merchant.reinstated", actor=actor)
