"""Payment pages: the shopper's pay step, the sandbox gateway's hosted page, the gateways' webhook
endpoints (mall host), and the merchant's payments and refund form (merchant host)."""
from __future__ import annotations

import logging
import random
import threading
import time
import urllib.request
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound
from core.tenancy import current_merchant, in_public_schema
from payments.gateways import LABELS, gateway_get
from payments.gateways import sandbox as sbx
from payments.gateways.base import NotificationRejected
from payments.models import GatewayEvent, Payment
from payments.selectors import refunds_list_for_merchant
from payments.services import RefundLineRequest, notification_receive, payment_start, refund_create, refund_retry
from permissions.decorators import require_capability

log = logging.getLogger("mallard.payments")


def base_url(request) -> str:
    from django.conf import settings

    return settings.MALL_BASE_URL.rstrip("/") or f"{request.scheme}://{request.get_host()}"


def webhook_url(request, gateway_code: str) -> str:
    return base_url(request) + reverse("payments-webhook", args=[gateway_code])


# --- shopper ---------------------------------------------------------------------------------------

def shopper_pay(request, order, gateway_code: str):
    """Start (or resume) paying `order` with `gateway_code`; answer with where the shopper goes next."""
    return_url = base_url(request) + reverse("order-detail", args=[order.number])
    payment = payment_start(order=order, gateway_code=gateway_code, return_url=return_url,
                            notify_url=webhook_url(request, gateway_code), actor=request.user)
    if gateway_code in ("alipay", "wechatpay"):
        return reverse("payments-qr", args=[order.number])
    return payment.action_url


def _visitor_order(request, number: str):
    from orders.selectors import order_get_for_visitor

    try:
        return order_get_for_visitor(number=number, user=request.user, guest_orders=request.session.get("guest_orders"))
    except NotFound:
        raise Http404(_("No such order.")) from None


@require_POST
def order_pay(request, number: str):
    order = _visitor_order(request, number)
    code = (request.POST.get("gateway") or "")[:20]
    try:
        target = shopper_pay(request, order, code)
    except DomainError as err:
        messages.error(request, err.message)
        return redirect("order-detail", number=number)
    return redirect(target)


def order_pay_qr(request, number: str):
    order = _visitor_order(request, number)
    payment = Payment.objects.get(order=order)
    if payment.gateway not in ("alipay", "wechatpay") or not payment.action_url:
        raise Http404(_("No QR code for this order."))
    svg = segno.make(payment.action_url, error="m").svg_inline(scale=6, dark="#111")
    return render(request, "payments/qr.html", {"order": order, "payment": payment, "qr_svg": svg,
                                                "label": LABELS.get(payment.gateway, payment.gateway)})


# --- the sandbox gateway's hosted page ---------------------------------------------------------------

SANDBOX_OUTCOMES = {
    "succeed": ["payment.succeeded"],
    "decline": ["payment.failed"],
    "action": ["payment.requires_action", "payment.succeeded"],
    "late": ["payment.succeeded"],
}


def _sandbox_params(request) -> dict:
    params = {k: request.GET.get(k, request.POST.get(k, "")) for k in ("ref", "order", "amount", "currency", "capture",
                                                                         "return", "notify", "sig")}
    if not params["sig"] or sbx.page_params_sign(params) != params["sig"]:
        raise Http404(_("This payment link is not valid."))
    return params


def sandbox_page(request):
    params = _sandbox_params(request)
    return render(request, "payments/sandbox.html", {"p": params, "query": urlencode(params)})


def _deliver(notify_url: str, body: bytes, *, headers: dict) -> int:
    req = urllib.request.Request(notify_url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - our own configured webhook URL
            return resp.status
    except Exception as exc:  # noqa: BLE001 - the gateway side just logs a failed delivery and retries
        log.warning("sandbox delivery to %s failed: %s", notify_url, exc)
        return 0


def sandbox_send(params: dict, kinds: list[str], *, duplicate_rate: float) -> list[bytes]:
    """The gateway side: sign and POST each event to the notify URL; sometimes a second time, later."""
    bodies = []
    for i, kind in enumerate(kinds):
        event_id = f"evt_{params['ref']}_{kind.split('.')[1]}_{int(time.time() * 1000)}_{i}"
        body = sbx.notification_body(event_id=event_id, kind=kind, reference=params["ref"], order_number=params["order"],
                                     amount_minor=int(params["amount"]), currency=params["currency"])
        status = _deliver(params["notify"], body, headers={sbx.SIGNATURE_HEADER: sbx.sign(body)})
        if status != 200 or random.random() < duplicate_rate:  # noqa: S311 - not security
            def again(b=body):
                time.sleep(1.0)
                _deliver(params["notify"], b, headers={sbx.SIGNATURE_HEADER: sbx.sign(b)})
            threading.Thread(target=again, daemon=True).start()
        bodies.append(body)
    return bodies


@require_POST
def sandbox_act(request):
    from django.conf import settings

    params = _sandbox_params(request)
    outcome = request.POST.get("outcome", "")
    if outcome not in SANDBOX_OUTCOMES:
        return HttpResponseBadRequest("outcome")
    kinds = list(SANDBOX_OUTCOMES[outcome])
    if params["capture"] == "on_accept":
        kinds = ["payment.authorized" if k == "payment.succeeded" else k for k in kinds]
    if outcome == "late":
        # Sandbox-only time warp: the order's deadline passes first, then the payment succeeds.
        from orders.services import order_expire_now

        order_expire_now(number=params["order"])
    sandbox_send(params, kinds, duplicate_rate=settings.SANDBOX_DUPLICATE_RATE)
    return redirect(params["return"] or "/")


# --- webhooks in -------------------------------------------------------------------------------------

@csrf_exempt
@require_POST
def webhook(request, gateway_code: str):
    """One endpoint per gateway on the mall host. Verified, stored once, applied under the payment lock."""
    if current_merchant() is not None:
        raise Http404()
    rid = getattr(request, "request_id", "")
    try:
        gateway = gateway_get(gateway_code)
    except DomainError:
        raise Http404() from None
    headers = {k: v for k, v in request.headers.items()}
    try:
        event = notification_receive(gateway_code=gateway_code, body=request.body, headers=headers, request_id=rid)
    except NotificationRejected as exc:
        log.warning("webhook %s refused [req=%s]: %s", gateway_code, rid, exc.message)
        status, ctype, body = gateway.acknowledge(ok=False)
        return HttpResponse(body, status=status, content_type=ctype)
    log.info("webhook %s event %s: %s%s [req=%s]", gateway_code, event.event_id, event.result,
             " (duplicate)" if getattr(event, "duplicate", False) else "", rid)
    ok = event.result != GatewayEvent.Result.FAILED
    status, ctype, body = gateway.acknowledge(ok=ok)
    return HttpResponse(body, status=status if ok else 500, content_type=ctype)


# --- merchant ----------------------------------------------------------------------------------------

@require_capability("payments.view")
def merchant_payments(request):
    merchant = current_merchant()
    status = request.GET.get("status", "")
    with in_public_schema():
        refunds = list(refunds_list_for_merchant(merchant_id=merchant.pk, status=status or None))
    from payments.states import RefundStatus

    return render(request, "payments/merchant_refunds.html", {"refunds": refunds, "status": status,
                                                              "statuses": RefundStatus.choices})


def _int(value, default=0) -> int:
    text = (value or "").strip()
    if not text:
        return default
    if len(text) > 12 or not text.isascii() or not text.isdigit():
        raise ValueError(text)
    return int(text)


@require_capability("refunds.create")
@require_POST
def suborder_refund(request, suborder_id: int):
    from core.money import Money

    merchant = current_merchant()
    target = reverse("suborders-detail", args=[suborder_id])
    try:
        lines = []
        for key, value in request.POST.items():
            if key.startswith("qty_") and value.strip() not in ("", "0"):
                lines.append(RefundLineRequest(order_line_id=_int(key[4:]), quantity=_int(value)))
        shipping = request.POST.get("shipping", "").strip()
        currency = request.POST.get("currency", "CNY")[:3]
        shipping_minor = Money.parse(shipping, currency, field="shipping").minor if shipping else 0
        custom = request.POST.get("custom", "").strip()
        custom_minor = Money.parse(custom, currency, field="custom").minor if custom else 0
    except ValueError:
        messages.error(request, _("Quantities must be whole numbers."))
        return redirect(target)
    except DomainError as err:
        messages.error(request, err.message)
        return redirect(target)
    try:
        with in_public_schema():
            refund, _created = refund_create(
                actor=request.user, merchant_id=merchant.pk, suborder_id=suborder_id, lines=lines,
                shipping_minor=shipping_minor, custom_minor=custom_minor, reason=request.POST.get("reason", ""),
                restock=request.POST.get("restock") == "on", idempotency_key=request.POST.get("idempotency_key", ""))
    except DomainError as err:
        messages.error(request, err.message)
        return redirect(target)
    messages.success(request, _("Refund of %(amount)s requested.") % {"amount": Money(refund.amount_minor, refund.currency).format()})
    return redirect(target)


@require_capability("refunds.create")
@require_POST
def refund_retry_view(request, refund_id: int):
    merchant = current_merchant()
    from payments.models import Refund

    with in_public_schema():
        refund = Refund.objects.filter(pk=refund_id, merchant_id=merchant.pk).first()
        if refund is None:
            raise Http404(_("No such refund."))
        try:
            refund_retry(refund_id=refund.pk, actor=request.user)
            messages.success(request, _("The refund was sent again."))
        except DomainError as err:
            messages.error(request, err.message)
    return redirect(reverse("suborders-detail", args=[refund.suborder_id]))
