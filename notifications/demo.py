"""Demo data for notifications: acme's email branding (name, a generated logo, footer) and shopper1's
preferences (Chinese, shipments also by text message to the demo SMS file). Safe to run again."""
from __future__ import annotations

import io


def _demo_logo() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 48), (31, 94, 60))
    ImageDraw.Draw(img).text((12, 16), "ACME", fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def seed_notifications(merchants) -> None:
    from notifications.models import NotificationProfile, StoreBranding
    from notifications.services import branding_update, preferences_update, templates_seed_defaults
    from permissions.models import Membership, User

    templates_seed_defaults()
    acme = next((m for m in merchants if m.slug == "acme"), None)
    if acme is not None and not StoreBranding.objects.filter(merchant_id=acme.pk).exists():
        owner = (Membership.objects.filter(merchant=acme, is_active=True, roles__contains=["owner"])
                 .select_related("user").order_by("id").first())
        if owner is not None:
            branding_update(actor=owner.user, merchant=acme, display_name="Acme Outfitters 极致户外", logo=_demo_logo(),
                            footer_text="Acme Outfitters · 极致户外\nQuestions? Reply to this email or call 400-800-1234.")
    shopper = User.objects.filter(email="shopper1@example.com").first()
    if shopper is not None and not NotificationProfile.objects.filter(user=shopper).exists():
        preferences_update(user=shopper, language="zh-hans", phone="+8613800138000",
                           channels={"suborder_shipped": ["email", "sms"], "suborder_delivered": ["email", "sms"]})
