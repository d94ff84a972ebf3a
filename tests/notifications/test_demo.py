"""The demo seeder: acme's email branding and shopper1's preferences, once however often it runs."""
from notifications.demo import seed_notifications
from notifications.models import NotificationProfile, StoreBranding
from permissions.services import user_create


def test_the_demo_brands_acme_and_sets_a_shoppers_preferences_once(mall):
    shopper = user_create(email="shopper1@example.com", password="x-pass-123")
    merchants = [mall.acme, mall.globex, mall.initech]
    seed_notifications(merchants)
    seed_notifications(merchants)
    branding = StoreBranding.objects.get(merchant_id=mall.acme.pk)
    assert branding.display_name == "Acme Outfitters 极致户外" and bytes(branding.logo).startswith(b"\x89PNG")
    assert not StoreBranding.objects.filter(merchant_id__in=[mall.globex.pk, mall.initech.pk]).exists()
    profile = NotificationProfile.objects.get(user=shopper)
    assert (profile.language, profile.phone) == ("zh-hans", "+8613800138000")
    assert profile.channels["suborder_shipped"] == ["email", "sms"] and profile.channels["order_placed"] == ["email"]
