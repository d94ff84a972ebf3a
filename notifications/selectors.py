"""Notification reads: a template's text, a store's branding, who gets a notice on which channel and in
which language, and the message log for operators."""
from __future__ import annotations

from django.conf import settings

from core.tenancy import in_public_schema
from notifications.defaults import default_for
from notifications.kinds import EMAIL, KINDS, LANGUAGES, SHOPPER, SMS, NoticeKind
from notifications.models import Message, NotificationProfile, NotificationTemplate, StoreBranding
from notifications.rendering import FIELDS


def template_fields(kind: str, language: str) -> dict[str, str]:
    """The stored text of (kind, language); the built-in text where no row exists."""
    with in_public_schema():
        row = NotificationTemplate.objects.filter(kind=kind, language=language).first()
    if row is None:
        return default_for(kind, language)
    return {f: getattr(row, f) for f in FIELDS}


def templates_overview() -> list[dict]:
    """Every kind with its row per language (None where only the built-in text exists)."""
    rows = {(t.kind, t.language): t for t in NotificationTemplate.objects.select_related("updated_by")}
    return [{"kind": k, "languages": [{"code": lang, "row": rows.get((k.key, lang))} for lang in LANGUAGES]}
            for k in KINDS.values()]


def branding_for_merchant(merchant_id: int | None) -> StoreBranding | None:
    if not merchant_id:
        return None
    with in_public_schema():
        return StoreBranding.objects.filter(merchant_id=merchant_id).first()


def profile_for_user(user) -> NotificationProfile | None:
    if user is None or not getattr(user, "pk", None):
        return None
    with in_public_schema():
        return NotificationProfile.objects.filter(user_id=user.pk).first()


def channels_for(profile: NotificationProfile | None, kind: str) -> list[str]:
    """The channels a shopper wants for `kind`: email only until they choose."""
    if profile is None:
        return [EMAIL]
    wanted = profile.channels.get(kind, [EMAIL])
    return [c for c in (EMAIL, SMS) if c in wanted]


def notice_targets(*, kind: NoticeKind, email: str, language: str | None) -> list[tuple[str, str, str]]:
    """(channel, recipient, language) for one notice. A shopper's preferences apply to shopper kinds (an
    account found by email); a store's notices go by email in the given or default language."""
    if not email:
        return []
    if kind.audience != SHOPPER:
        return [(EMAIL, email, language if language in LANGUAGES else settings.LANGUAGE_CODE)]
    from permissions.models import User

    with in_public_schema():
        user = User.objects.filter(email__iexact=email).first()
    profile = profile_for_user(user)
    lang = language or (profile.language if profile else "") or (user.preferred_language if user else "")
    if lang not in LANGUAGES:
        lang = settings.LANGUAGE_CODE
    targets = []
    for channel in channels_for(profile, kind.key):
        if channel == EMAIL:
            targets.append((EMAIL, email, lang))
        elif profile is not None and profile.phone:
            targets.append((SMS, profile.phone, lang))
    return targets


MESSAGE_FILTERS = {  # query parameter -> lookup
    "status": "status", "channel": "channel", "kind": "kind", "event": "event_id", "merchant": "merchant_id",
    "recipient": "recipient__icontains",
}


def messages_list_for_operator(*, limit: int = 200, **filters) -> list[Message]:
    """The message log, newest first, filtered by exact status/channel/kind/event/merchant and a recipient
    substring; filters with empty values are ignored."""
    qs = Message.objects.all()
    for name, value in filters.items():
        if value not in (None, "") and name in MESSAGE_FILTERS:
            qs = qs.filter(**{MESSAGE_FILTERS[name]: value})
    return list(qs.order_by("-id")[:limit])


def branding_preview(*, merchant, branding: StoreBranding | None, language: str):
    """A shopper email of this store as its shoppers would get it (acceptance, sample order), for the
    branding page: the stored template, the store's display name, and its footer."""
    from notifications.kinds import KINDS
    from notifications.rendering import template_render

    lang = language if language in LANGUAGES else settings.LANGUAGE_CODE
    context = {**KINDS["suborder_accepted"].sample, "store": (branding.display_name if branding else "") or merchant.name}
    try:
        rendered = template_render(template_fields("suborder_accepted", lang), context)
    except Exception:
        rendered = template_render(default_for("suborder_accepted", lang), context)
    return {"subject": rendered.subject, "body": rendered.body_text.rstrip("\n"),
            "footer": (branding.footer_text if branding else "").strip()}
