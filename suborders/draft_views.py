"""Merchant dashboard: orders the store's staff enter for a customer (drafts, confirm, pay link, paid offline).

Mounted at /drafts/ on merchant hosts (merchants.urls). Each view parses the form, calls one service
of suborders.drafts (or payments' offline service) and renders or redirects.
"""
from __future__ import annotations

import functools

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound, ValidationFailed
from core.inputs import is_ascii_digits
from core.money import Money
from core.tenancy import current_merchant, in_public_schema
from orders.forms import ADDRESS_LABELS
from orders.validation import ADDRESS_FIELDS, MAX_LINES
from permissions.decorators import require_capability
from permissions.selectors import user_can
from suborders import drafts
from suborders.models_drafts import OrderDraftStatus

BLANK_ROWS = 3  # empty product rows offered under the draft's lines
MAX_TEXT = 300


def _require_any(*capabilities: str):
    """Staff entering orders (orders.create) and finance recording payments (payments.offline) both
    open these pages; each action checks its own capability again in its service."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            merchant = current_merchant()
            if merchant is None or not any(user_can(user=request.user, merchant=merchant, capability=c) for c in capabilities):
                return render(request, "error.html", {
                    "title": _("Not allowed"),
                    "message": _("Your role does not allow this (%(capability)s).") % {"capability": " / ".join(capabilities)},
                }, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _text(post, name: str, limit: int = MAX_TEXT) -> str:
    value = post.get(name, "")
    if len(value) > limit:
        raise ValidationFailed(_("At most %(n)s characters.") % {"n": limit}, field=name)
    return value


def _rows(post) -> list[tuple[int, str, str]]:
    """(form row, sku, quantity text) of the product rows that have something in them."""
    text = post.get("rows", "0")
    count = min(int(text), MAX_LINES + BLANK_ROWS) if is_ascii_digits(text) else 0
    out = []
    for i in range(max(count, 0)):
        sku, qty = post.get(f"sku_{i}", "").strip(), post.get(f"qty_{i}", "").strip()
        if sku or qty:
            out.append((i, sku, qty))
    return out


def _parse(post, currency: str) -> dict:
    """The form as the service's keyword arguments. Line k is the k-th product row with something in it
    (the service names it lines[k]); the form is shown again with those rows, in that order."""
    from catalog.selectors import variant_ids_by_sku

    rows = _rows(post)
    ids = variant_ids_by_sku(skus=[sku[:64] for _r, sku, _q in rows if sku])
    lines = []
    for k, (_row, sku, qty) in enumerate(rows):
        if sku not in ids:
            raise ValidationFailed(_("Line %(n)s: no product with SKU %(sku)s in this store.") % {"n": k + 1, "sku": sku[:64] or "—"},
                                   field=f"lines[{k}].variant_id")
        quantity: int | str = int(qty) if qty.isascii() and qty.isdigit() and len(qty) <= 6 else qty
        lines.append(drafts.DraftLine(ids[sku], quantity))  # type: ignore[arg-type]  (the service checks it)
    address = {key: _text(post, f"address_{key}", limit) for key, limit in ADDRESS_FIELDS.items()}
    discount_text = _text(post, "discount", 20).strip()
    rule_text = _text(post, "shipping_rule", 20).strip()
    if rule_text and not (rule_text.isascii() and rule_text.isdigit()):
        raise ValidationFailed(_("Choose one of this store's shipping methods."), field="shipping_rule_id")
    return {
        "lines": lines,
        "email": _text(post, "email", 254),
        "shipping_address": address if any(v.strip() for v in address.values()) else None,
        "shipping_rule_id": int(rule_text) if rule_text else None,
        "discount_minor": Money.parse(discount_text, currency, field="discount_minor").minor if discount_text else 0,
        "discount_reason": _text(post, "discount_reason"),
    }


def _values_of(draft) -> dict:
    """A saved draft as form text."""
    if draft is None:
        return {"rows": [], "address": {}, "email": "", "shipping_rule": "", "discount": "", "discount_reason": ""}
    return {
        "rows": [(ln.sku, str(ln.quantity)) for ln in drafts.draft_lines_view(draft=draft)],
        "address": dict(draft.shipping_address or {}),
        "email": draft.email,
        "shipping_rule": str(draft.shipping_rule_id or ""),
        "discount": str(Money(draft.discount_minor, draft.currency).to_decimal()) if draft.discount_minor else "",
        "discount_reason": draft.discount_reason,
    }


def _values_posted(post) -> dict:
    return {
        "rows": [(sku, qty) for _r, sku, qty in _rows(post)],
        "address": {key: post.get(f"address_{key}", "")[:limit] for key, limit in ADDRESS_FIELDS.items()},
        "email": post.get("email", "")[:254], "shipping_rule": post.get("shipping_rule", "")[:20],
        "discount": post.get("discount", "")[:20], "discount_reason": post.get("discount_reason", "")[:MAX_TEXT],
    }


def _form_context(values: dict, error: DomainError | None) -> dict:
    """Rows, address inputs and shipping choices for the template, each with its error if it has one."""
    from fulfillment.selectors import shipping_rule_list

    field = error.field if error else None
    line_error: dict[int, str] = {}
    if field and field.startswith("lines["):
        try:
            line_error[int(field[6:field.index("]")])] = error.message
        except ValueError:
            pass
    rows = [{"i": i, "sku": sku, "qty": qty, "error": line_error.get(i, "")} for i, (sku, qty) in enumerate(values["rows"])]
    rows += [{"i": len(rows) + j, "sku": "", "qty": "", "error": ""} for j in range(BLANK_ROWS)]
    address = [{"key": key, "label": ADDRESS_LABELS.get(key, key), "value": values["address"].get(key, ""), "max": limit,
                "error": error.message if field == f"shipping_address.{key}" else ""}
               for key, limit in ADDRESS_FIELDS.items()]
    return {
        "rows": rows, "row_count": len(rows), "address": address, "values": values,
        "rules": [r for r in shipping_rule_list() if r.is_active], "choices": drafts.draft_variant_choices(),
        "error": error, "error_field": field or "",
    }


def _render_form(request, *, draft, values, error=None, status=200):
    context = {"draft": draft, **_form_context(values, error)}
    if draft is not None:
        context["lines"] = drafts.draft_lines_view(draft=draft)
        context["totals"] = drafts.draft_totals(draft=draft)
    context.update(_permissions(request))
    return render(request, "suborders/drafts/draft_detail.html", context, status=status)


def _permissions(request) -> dict:
    merchant = current_merchant()
    return {"can_create": user_can(user=request.user, merchant=merchant, capability="orders.create"),
            "can_mark_paid": user_can(user=request.user, merchant=merchant, capability="payments.offline")}


def _draft_or_404(draft_id: int):
    try:
        return drafts.draft_get(draft_id=draft_id)
    except NotFound as err:
        raise Http404(err.message) from None


@_require_any("orders.create", "payments.offline")
def draft_list(request):
    status = request.GET.get("status", "")
    if status not in OrderDraftStatus.values:
        status = ""
    return render(request, "suborders/drafts/draft_list.html", {
        "drafts": drafts.draft_list_for_merchant(status=status or None), "status": status,
        "statuses": OrderDraftStatus.choices, **_permissions(request),
    })


@require_capability("orders.create")
def draft_new(request):
    if request.method != "POST":
        return _render_form(request, draft=None, values=_values_of(None))
    try:
        draft = drafts.draft_create(actor=request.user, **_parse(request.POST, "CNY"))
    except DomainError as err:
        return _render_form(request, draft=None, values=_values_posted(request.POST), error=err, status=400)
    messages.success(request, _("Draft %(id)s saved.") % {"id": draft.pk})
    return redirect("drafts-detail", draft_id=draft.pk)


@_require_any("orders.create", "payments.offline")
def draft_detail(request, draft_id: int):
    draft = _draft_or_404(draft_id)
    if request.method == "POST":
        if not _permissions(request)["can_create"]:
            return render(request, "error.html", {"title": _("Not allowed"), "message": _(
                "Your role does not allow this (%(capability)s).") % {"capability": "orders.create"}}, status=403)
        try:
            drafts.draft_update(draft_id=draft.pk, actor=request.user, **_parse(request.POST, draft.currency))
        except DomainError as err:
            return _render_form(request, draft=draft, values=_values_posted(request.POST), error=err, status=400)
        messages.success(request, _("Draft saved."))
        return redirect("drafts-detail", draft_id=draft.pk)
    if draft.status == OrderDraftStatus.DRAFT:
        return _render_form(request, draft=draft, values=_values_of(draft))
    return render(request, "suborders/drafts/draft_detail.html", {
        "draft": draft, "lines": drafts.draft_lines_view(draft=draft), "order": drafts.draft_order_summary(draft=draft),
        "methods": _offline_methods(), **_permissions(request),
    })


def _offline_methods():
    from payments.services.offline import METHODS

    return [(code, str(label)) for code, label in METHODS.items()]


def _act(request, draft_id: int, action, success: str):
    draft = _draft_or_404(draft_id)
    try:
        action(draft)
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, success)
    return redirect("drafts-detail", draft_id=draft.pk)


@require_POST
@require_capability("orders.create")
def draft_confirm_view(request, draft_id: int):
    def confirm(draft):
        done = drafts.draft_confirm(draft_id=draft.pk, actor=request.user)
        messages.info(request, _("Order %(number)s placed.") % {"number": done.order_number})

    return _act(request, draft_id, confirm, _("Send the customer the pay link, or record a payment received offline."))


@require_POST
@require_capability("orders.create")
def draft_discard_view(request, draft_id: int):
    return _act(request, draft_id, lambda d: drafts.draft_discard(draft_id=d.pk, actor=request.user), _("Draft discarded."))


@require_POST
@require_capability("orders.create")
def draft_send_link_view(request, draft_id: int):
    return _act(request, draft_id, lambda d: drafts.draft_pay_link_send(draft_id=d.pk, actor=request.user),
                _("The pay link is on its way to the customer."))


@require_POST
@require_capability("payments.offline")
def draft_mark_paid_view(request, draft_id: int):
    from payments.services import payment_mark_paid_offline

    def mark(draft):
        if not draft.order_number:
            raise ValidationFailed(_("Confirm the order first."), field="status")
        order = drafts.order_for_merchant(number=draft.order_number)
        with in_public_schema():
            payment_mark_paid_offline(order=order, reference=request.POST.get("reference", "")[:200],
                                      method=request.POST.get("method", "")[:40], actor=request.user)

    return _act(request, draft_id, mark, _("Payment recorded; the order is released to the store."))
