"""Gateway registry: code -> adapter, built from settings at call time (tests override settings)."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from payments.gateways.base import Gateway

LABELS = {"sandbox": _("Sandbox (test payments)"), "stripe": _("Card (Stripe)"), "alipay": _("Alipay 支付宝"),
          "wechatpay": _("WeChat Pay 微信支付")}
ALL_CODES = tuple(LABELS)


def gateway_configured(code: str) -> bool:
    if code == "sandbox":
        return True
    if code == "stripe":
        return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)
    if code == "alipay":
        return bool(settings.ALIPAY_APP_ID and settings.ALIPAY_APP_PRIVATE_KEY and settings.ALIPAY_PUBLIC_KEY)
    if code == "wechatpay":
        # All of them: without the platform public key AND its id, wechatpayv3 downloads certificates.
        return bool(settings.WECHATPAY_MCHID and settings.WECHATPAY_APPID and settings.WECHATPAY_PRIVATE_KEY
                    and settings.WECHATPAY_CERT_SERIAL and settings.WECHATPAY_APIV3_KEY and settings.WECHATPAY_PUBLIC_KEY
                    and settings.WECHATPAY_PUBLIC_KEY_ID)
    return False


def gateway_get(code: str) -> Gateway:
    if code not in LABELS:
        raise ValidationFailed(_("Unknown payment method %(code)s.") % {"code": code}, field="gateway")
    if not gateway_configured(code):
        raise ValidationFailed(_("The payment method %(code)s is not configured.") % {"code": code}, field="gateway")
    if code == "sandbox":
        from payments.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if code == "stripe":
        from payments.gateways.stripe import StripeGateway

        return StripeGateway()
    if code == "alipay":
        from payments.gateways.alipay import AlipayGateway

        return AlipayGateway()
    from payments.gateways.wechatpay import WeChatPayGateway

    return WeChatPayGateway()
