"""Operator console pages on the mall host: each asks for its platform capability (permissions.roles)."""
from django.shortcuts import render

from console.selectors import merchant_overview_for_operator
from core.tenancy import assert_public_schema
from permissions.decorators import require_platform_capability


@require_platform_capability("console.view")
def console_home(request):
    assert_public_schema()
    return render(request, "console/home.html", merchant_overview_for_operator())


# --- payments ---------------------------------------------------------------------------------------

def _console_redirect(request, name, *args):
    from django.shortcuts import redirect

    return redirect(name, *args)


@require_platform_capability("payments.view")
def console_payments(request):
    from payments.selectors import payments_list_for_operator
    from payments.states import PaymentStatus

    assert_public_schema()
    f = {k: (request.GET.get(k) or "")[:60] for k in ("status", "gateway", "q")}
    return render(request, "console/payments.html", {
        "payments": payments_list_for_operator(**f), "f": f, "statuses": PaymentStatus.choices,
        "gateways": ["sandbox", "stripe", "alipay", "wechatpay"]})


@require_platform_capability("payments.view")
def console_payment_detail(request, payment_id: int):
    from django.http import Http404

    from payments.models import Payment
    from payments.selectors import refunds_for_order, suborder_money_summary

    assert_public_schema()
    payment = Payment.objects.select_related("order").filter(pk=payment_id).first()
    if payment is None:
        raise Http404("No such payment.")
    suborders = []
    for m in payment.order.suborders.select_related("merchant").order_by("merchant_id", "suborder_id"):
        summary = suborder_money_summary(merchant_id=m.merchant_id, suborder_id=m.suborder_id)
        suborders.append({"mirror": m, **summary})
    return render(request, "console/payment_detail.html", {
        "payment": payment, "events": payment.events.select_related("actor"), "refunds": refunds_for_order(order_id=payment.order_id),
        "suborders": suborders, "gateway_events": payment.gateway_events.order_by("-id")[:50]})


@require_platform_capability("refunds.operator")
def console_payment_refund(request, payment_id: int):
    from django.contrib import messages
    from django.http import HttpResponseNotAllowed

    from core.errors import DomainError
    from core.inputs import parse_id, parse_int
    from core.money import Money
    from payments.services import RefundLineRequest, refund_create

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        merchant_id = parse_id(request.POST.get("merchant_id", ""), field="merchant_id")
        suborder_id = parse_id(request.POST.get("suborder_id", ""), field="suborder_id")
        lines = [RefundLineRequest(order_line_id=parse_id(k[4:], field=k[:40]), quantity=parse_int(v, field=k[:40], minimum=0))
                 for k, v in request.POST.items() if k.startswith("qty_") and v.strip() not in ("", "0")]
        custom = request.POST.get("custom", "").strip()
        custom_minor = Money.parse(custom, request.POST.get("currency", "CNY")[:3], field="custom").minor if custom else 0
        refund, _ = refund_create(actor=request.user, merchant_id=merchant_id, suborder_id=suborder_id, lines=lines,
                                  custom_minor=custom_minor, reason=request.POST.get("reason", ""),
                                  idempotency_key=request.POST.get("idempotency_key", ""))
        messages.success(request, f"Refund #{refund.pk} of {Money(refund.amount_minor, refund.currency).format()} requested.")
    except ValueError:
        messages.error(request, "Quantities and ids must be whole numbers.")
    except DomainError as err:
        messages.error(request, err.message)
    return _console_redirect(request, "console-payment", payment_id)


@require_platform_capability("payments.view")
def console_gateway_events(request):
    from payments.models import GatewayEvent
    from payments.selectors import gateway_events_list_for_operator

    assert_public_schema()
    f = {k: (request.GET.get(k) or "")[:30] for k in ("result", "gateway")}
    return render(request, "console/gateway_events.html", {
        "events": gateway_events_list_for_operator(**f), "f": f, "results": GatewayEvent.Result.choices})


@require_platform_capability("gateway_events.reprocess")
def console_gateway_event_reprocess(request, event_id: int):
    from django.contrib import messages
    from django.http import HttpResponseNotAllowed

    from payments.models import GatewayEvent
    from payments.services import gateway_event_process

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not GatewayEvent.objects.filter(pk=event_id).exists():
        messages.error(request, "No such event.")
    else:
        event = gateway_event_process(event_id=event_id, actor=request.user)
        messages.info(request, f"Event {event.event_id}: {event.get_result_display()}.")
    return _console_redirect(request, "console-gateway-events")


@require_platform_capability("payments.settings")
def console_payment_settings(request):
    from django.contrib import messages

    from core.errors import DomainError
    from payments.selectors import gateway_choices, payment_settings_get
    from payments.services import payment_settings_update

    assert_public_schema()
    current = payment_settings_get()
    if request.method == "POST":
        try:
            payment_settings_update(enabled_gateways=request.POST.getlist("gateways"),
                                    capture_policy=request.POST.get("capture_policy", ""), actor=request.user)
            messages.success(request, "Payment settings saved.")
            return _console_redirect(request, "console-payment-settings")
        except DomainError as err:
            messages.error(request, err.message)
    return render(request, "console/payment_settings.html", {"settings": current, "choices": gateway_choices(),
                                                             "policies": current.CAPTURE_CHOICES})


@require_platform_capability("orders.view_all")
def console_late_suborders(request):
    """Late suborders across every merchant, from the public mirror (no loop over schemas)."""
    from django.utils import timezone

    from orders.models import SubOrderMirror

    assert_public_schema()
    now = timezone.now()
    late = (SubOrderMirror.objects.select_related("merchant", "order")
            .filter(status__in=["accepted", "partially_shipped"], is_late=True).order_by("ship_by")[:300])
    overdue = (SubOrderMirror.objects.select_related("merchant", "order")
               .filter(status="awaiting_acceptance", accept_by__lt=now).order_by("accept_by")[:300])
    return render(request, "console/late_suborders.html", {"late": late, "overdue": overdue})


@require_platform_capability("console.view")
def console_roles(request):
    """The operators' role table: which platform role may do what (permissions.roles.PLATFORM_CAPABILITIES)."""
    from permissions.roles import PlatformRole
    from permissions.selectors import platform_role_matrix, platform_roles_of

    assert_public_schema()
    return render(request, "console/roles.html", {
        "role_labels": [label for _v, label in PlatformRole.choices], "rows": platform_role_matrix(),
        "my_roles": [label for value, label in PlatformRole.choices if value in platform_roles_of(request.user)]})


@require_platform_capability("security.settings")
def console_security_settings(request):
    """The operator's sign-in rules: require a second factor of store owners and operators."""
    from django.contrib import messages
    from django.utils.translation import gettext as _

    from permissions.selectors import security_settings_get
    from permissions.services import security_settings_update

    assert_public_schema()
    if request.method == "POST":
        security_settings_update(require_second_factor=request.POST.get("require_second_factor") == "on",
                                 actor=request.user)
        messages.success(request, _("Security settings saved."))
        return _console_redirect(request, "console-security-settings")
    return render(request, "console/security_settings.html", {"settings": security_settings_get()})
