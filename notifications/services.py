"""Notification writes: the operator's templates, a store's branding, a shopper's preferences, and the
send of one message (notice_send) with its row in the message log."""
from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.inputs import clean_text
from core.tenancy import in_public_schema
from notifications import selectors
from notifications.defaults import default_for
from notifications.kinds import CHANNELS, EMAIL, KINDS, LANGUAGES, SHOPPER, SMS
from notifications.models import Message, NotificationProfile, NotificationTemplate, StoreBranding
from notifications.rendering import FIELDS, Rendered, template_check, template_render
from permissions.audit import audit_record
from permissions.policy import authorize

log = logging.getLogger(__name__)


# --- templates (operator) ---------------------------------------------------------------------------

def _kind_language(kind: str, language: str) -> None:
    if kind not in KINDS:
        raise ValidationFailed(_("Unknown notification."), field="kind")
    if language not in LANGUAGES:
        raise ValidationFailed(_("Unknown language."), field="language")


def template_preview(*, kind: str, language: str, fields: dict[str, str]) -> Rendered:
    """Render unsaved template text with the kind's sample data (ValidationFailed naming the error)."""
    _kind_language(kind, language)
    return template_check(kind=kind, fields={f: str(fields.get(f) or "") for f in FIELDS})


def template_update(*, actor, kind: str, language: str, fields: dict[str, str]) -> NotificationTemplate:
    """Save the operator's text for (kind, language) after checking it compiles and renders with only the
    kind's variables; audited with the fields that changed. A broken template is refused, nothing saved."""
    authorize(actor, "notifications.edit")
    _kind_language(kind, language)
    fields = {f: str(fields.get(f) or "").replace("\r\n", "\n") for f in FIELDS}
    template_check(kind=kind, fields=fields)
    if len(fields["subject"]) > 250:
        raise ValidationFailed(_("Must be at most %(max)s characters.") % {"max": 250}, field="subject")
    with in_public_schema(), transaction.atomic():
        row = NotificationTemplate.objects.select_for_update().filter(kind=kind, language=language).first()
        before = {f: getattr(row, f) for f in FIELDS} if row else default_for(kind, language)
        if row is None:
            row = NotificationTemplate(kind=kind, language=language)
        for f in FIELDS:
            setattr(row, f, fields[f])
        row.updated_by = actor
        row.save()
        audit_record(actor=actor, entity="notification_template", entity_id=f"{kind}:{language}", action="update",
                     before=before, after=fields, schema_name="public")
    return row


def template_reset(*, actor, kind: str, language: str) -> NotificationTemplate:
    """Put back the built-in text (notifications.defaults), audited like an edit."""
    _kind_language(kind, language)
    return template_update(actor=actor, kind=kind, language=language, fields=default_for(kind, language))


def templates_seed_defaults() -> int:
    """Write the built-in text of every (kind, language) that has no row yet. Safe to run twice."""
    made = 0
    with in_public_schema():
        for kind in KINDS:
            for language in LANGUAGES:
                _row, created = NotificationTemplate.objects.get_or_create(
                    kind=kind, language=language, defaults=default_for(kind, language))
                made += created
    return made


# --- store branding (merchant owner/manager) --------------------------------------------------------

MAX_LOGO_BYTES = 200 * 1024
MAX_LOGO_SIDE = 1200


def _logo_check(data: bytes) -> str:
    """A small PNG or JPEG, decoded by Pillow to be sure; returns its content type."""
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationFailed(_("The logo must be at most %(kb)s KB.") % {"kb": MAX_LOGO_BYTES // 1024}, field="logo")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        content_type, fmt = "image/png", "PNG"
    elif data.startswith(b"\xff\xd8\xff"):
        content_type, fmt = "image/jpeg", "JPEG"
    else:
        raise ValidationFailed(_("The logo must be a PNG or JPEG image."), field="logo")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != fmt:
                raise ValueError(img.format)
            width, height = img.size
            img.verify()
    except Exception:
        raise ValidationFailed(_("The logo is not a readable PNG or JPEG image."), field="logo") from None
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise ValidationFailed(_("The logo must be at most %(px)s pixels wide and high.") % {"px": MAX_LOGO_SIDE},
                               field="logo")
    return content_type


def branding_update(*, actor, merchant, display_name: str, footer_text: str, logo: bytes | None = None,
                    remove_logo: bool = False) -> StoreBranding:
    """A store's name, logo and footer in its own shoppers' emails (branding.edit: owner, manager); audited
    in the store's books."""
    authorize(actor, "branding.edit", merchant=merchant)
    display_name = clean_text(display_name, field="display_name", max_length=120)
    footer_text = clean_text(footer_text, field="footer_text", max_length=1000)
    content_type = _logo_check(logo) if logo else ""
    with in_public_schema(), transaction.atomic():
        row, _created = StoreBranding.objects.select_for_update().get_or_create(merchant_id=merchant.pk)
        before = {"display_name": row.display_name, "footer_text": row.footer_text,
                  "logo": hashlib.sha256(bytes(row.logo)).hexdigest()[:16] if row.logo else ""}
        row.display_name, row.footer_text = display_name, footer_text
        if logo:
            row.logo, row.logo_content_type = logo, content_type
        elif remove_logo:
            row.logo, row.logo_content_type = None, ""
        row.updated_by = actor
        row.save()
        after = {"display_name": row.display_name, "footer_text": row.footer_text,
                 "logo": hashlib.sha256(bytes(row.logo)).hexdigest()[:16] if row.logo else ""}
        audit_record(actor=actor, entity="store_branding", entity_id=merchant.pk, action="update", before=before,
                     after=after, schema_name=merchant.schema_name)
    return row


# --- shopper preferences ----------------------------------------------------------------------------

PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")


def preferences_update(*, user, language: str, phone: str, channels: dict[str, list[str]]) -> NotificationProfile:
    """The signed-in shopper's own preferences: language ('' = the account's), phone for SMS, and per
    shopper notification the channels wanted (none = not sent)."""
    if user is None or not getattr(user, "is_authenticated", False):
        from core.errors import PermissionDenied

        raise PermissionDenied(_("Sign in to do this."), code="not_authenticated")
    if language not in ("", *LANGUAGES):
        raise ValidationFailed(_("Unknown language."), field="language")
    phone = clean_text(phone, field="phone", max_length=20).replace(" ", "").replace("-", "")
    if phone and not PHONE_RE.match(phone):
        raise ValidationFailed(_("Enter a phone number of 6 to 15 digits, optionally starting with +."), field="phone")
    clean: dict[str, list[str]] = {}
    for kind, wanted in channels.items():
        if kind not in KINDS or KINDS[kind].audience != SHOPPER:
            raise ValidationFailed(_("Unknown notification."), field=f"channels.{kind}"[:60])
        bad = [c for c in wanted if c not in CHANNELS]
        if bad:
            raise ValidationFailed(_("Unknown channel."), field=f"channels.{kind}")
        clean[kind] = [c for c in CHANNELS if c in wanted]
    if any(SMS in v for v in clean.values()) and not phone:
        raise ValidationFailed(_("Enter a phone number to receive text messages."), field="phone")
    with in_public_schema(), transaction.atomic():
        row, _created = NotificationProfile.objects.select_for_update().get_or_create(user=user)
        row.language, row.phone = language, phone
        row.channels = {**{k.key: row.channels.get(k.key, [EMAIL]) for k in KINDS.values() if k.audience == SHOPPER},
                        **clean}
        row.save()
    return row


# --- sending ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    """One notification of one kind to one person: who (email, and the account if there is one), the
    kind's variables, the store whose branding applies (shopper emails of a suborder), a forced language."""

    kind: str
    email: str
    context: dict
    merchant_id: int | None = None
    language: str | None = None


def notice_send(*, event, delivery_key: str, notice: Notice) -> list[Message]:
    """Send `notice` on each channel the recipient wants, each once per (event, recipient, channel).

    Runs in an outbox subscriber (external: autocommit, after its claim was committed). The message row
    is written `queued` before the send and marked `sent` after it; a re-run finds it `sent` and sends
    nothing; a run interrupted between send and mark re-sends with the same Message-ID / OutId. A failed
    send marks the row `failed` and raises, so the outbox retries the delivery."""
    spec = KINDS[notice.kind]
    targets = selectors.notice_targets(kind=spec, email=notice.email, language=notice.language)
    sent = []
    for channel, recipient, language in targets:
        sent.append(_send_one(event=event, delivery_key=delivery_key, notice=notice, channel=channel,
                              recipient=recipient, language=language))
    return [m for m in sent if m is not None]


def _send_one(*, event, delivery_key: str, notice: Notice, channel: str, recipient: str, language: str) -> Message | None:
    with in_public_schema():
        try:
            with transaction.atomic():
                message, _created = Message.objects.get_or_create(
                    event_id=event.pk, recipient=recipient[:254], channel=channel,
                    defaults={"topic": event.topic[:80], "delivery_key": delivery_key[:200], "kind": notice.kind,
                              "language": language, "merchant_id": notice.merchant_id})
        except IntegrityError:  # a concurrent run inserted it first
            message = Message.objects.get(event_id=event.pk, recipient=recipient[:254], channel=channel)
        if message.status == Message.Status.SENT:
            return message  # once per (event, recipient, channel)
        rendered, branding = _render(notice=notice, language=language)
        stable = message_stable_id(message)
        message.attempts += 1
        message.subject = rendered.subject[:250]
        try:
            if channel == EMAIL:
                from notifications.channels import email_send

                provider_id = email_send(to=recipient, rendered=rendered, branding=branding, message_id=stable)
            else:
                from notifications.sms import SmsRequest, sms_provider_get

                if not rendered.sms_body:
                    message.status, message.error = Message.Status.FAILED, "this notification has no SMS text"
                    message.save(update_fields=["status", "error", "attempts", "subject"])
                    return message  # nothing to retry: the template has no SMS body
                params = {k: v for k, v in notice.context.items() if isinstance(v, str | int)}
                provider_id = sms_provider_get().send(SmsRequest(to=recipient, body=rendered.sms_body, kind=notice.kind,
                                                                 params=params, idempotency_key=stable))
        except Exception as exc:
            message.status, message.error = Message.Status.FAILED, f"{type(exc).__name__}: {exc}"[:4000]
            message.save(update_fields=["status", "error", "attempts", "subject"])
            raise
        message.status, message.provider_id, message.error = Message.Status.SENT, str(provider_id)[:250], ""
        message.sent_at = timezone.now()
        message.save(update_fields=["status", "provider_id", "error", "sent_at", "attempts", "subject"])
        return message


def message_stable_id(message: Message) -> str:
    """The id a receiver can drop a repeat by: the same for every attempt of this message. Derived from the
    delivery key (stable across retries of one (event, subscriber)), the channel and the recipient, not
    from the row's id, so it holds even when a crash rolled the row back with the relay's transaction."""
    digest = hashlib.sha256(f"{message.delivery_key}|{message.channel}|{message.recipient}".encode()).hexdigest()[:24]
    return f"e{message.event_id}-{digest}"


def _render(*, notice: Notice, language: str):
    """The stored template for (kind, language) with the store's branding; the built-in text when the
    stored one fails on real data (it was checked on the sample at save, so this is logged, not raised)."""
    spec = KINDS[notice.kind]
    branding = selectors.branding_for_merchant(notice.merchant_id) if spec.branded and notice.merchant_id else None
    context = dict(notice.context)
    if branding is not None and branding.display_name:
        context["store"] = branding.display_name
    try:
        rendered = template_render(selectors.template_fields(notice.kind, language), context)
    except Exception:
        log.exception("notification template %s/%s failed on real data; the built-in text was used",
                      notice.kind, language)
        rendered = template_render(default_for(notice.kind, language), context)
    return rendered, branding
