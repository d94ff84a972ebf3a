"""Merchant dashboard pages of automation rules (owners and managers: automation.manage): the list in
evaluation order (move up/down, switch on/off), the create/edit form, the dry run, run history, and
shoppers' tags. Each page parses the form, calls one service, and shows a service error next to its field."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from automation import selectors, services
from automation.models import Trigger
from automation.rules import ACTION_TYPES, describe_action, merchant_timezone
from core.errors import DomainError, NotFound, ValidationFailed
from core.inputs import parse_int
from core.money import Money
from core.tenancy import current_merchant
from permissions.decorators import require_capability

CAP = "automation.manage"
LIST_FIELDS = ("regions", "skus", "categories", "channels", "customer_tags")
# the form's action inputs, in the order the actions run: (input name, action type, the action's own field)
FORM_ACTIONS = (("act_tag", "add_tag", "tag"), ("act_note", "add_note", "text"), ("act_hold", "hold", "reason"),
                ("act_accept", "accept", None), ("act_print_label", "print_label", None), ("act_notify", "notify_staff", "email"),
                ("act_webhook", "webhook", None))
FIELD_LABELS = {
    "name": _lazy("Name"), "trigger": _lazy("When"), "amount_min": _lazy("Total at least"), "amount_max": _lazy("Total at most"),
    "regions": _lazy("Regions / provinces"), "skus": _lazy("SKUs"), "categories": _lazy("Categories"), "channels": _lazy("Channels"),
    "customer_tags": _lazy("Customer tags"), "time_start": _lazy("From (time of day)"), "time_end": _lazy("Until (time of day)"),
    "act_tag": _lazy("Add a tag"), "act_note": _lazy("Add a note"), "act_hold": _lazy("Hold for review"), "act_accept": _lazy("Accept"),
    "act_print_label": _lazy("Queue the labels"), "act_notify": _lazy("Email a staff member"), "act_webhook": _lazy("Webhook"),
    "actions": _lazy("Actions"),
}


def _rule_or_404(rule_id: int):
    try:
        return selectors.rule_get(rule_id=rule_id)
    except NotFound as err:
        raise Http404(err.message) from None


def _amount(text: str, currency: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    minor = Money.parse(text, currency, field=field).minor
    if minor < 0:
        raise ValidationFailed(_("The amount must not be negative."), field=field)
    return minor


def _parse(post, currency: str) -> tuple[dict, list[str]]:
    """Form -> the service's arguments, and for each action the form input it came from."""
    conditions: dict = {}
    for key, field in (("amount_min_minor", "amount_min"), ("amount_max_minor", "amount_max")):
        minor = _amount(post.get(field, ""), currency, field)
        if minor is not None:
            conditions[key] = minor
    for key in LIST_FIELDS:
        if post.get(key, "").strip():
            conditions[key] = post.get(key, "")[:20000].split(",")
    start, end = post.get("time_start", "").strip(), post.get("time_end", "").strip()
    if start or end:
        conditions["time_window"] = {"start": start, "end": end}
        if post.get("time_zone", "").strip():  # a zone set through the API survives an edit on the page
            conditions["time_window"]["timezone"] = post.get("time_zone", "").strip()[:64]
    actions, sources = [], []
    for name, kind, key in FORM_ACTIONS:
        value = post.get(name, "")
        if key is None and value:
            actions.append({"type": kind})
        elif key is not None and value.strip():
            actions.append({"type": kind, key: value[:2000]})
        else:
            continue
        sources.append(name)
    return {"name": post.get("name", "")[:500], "trigger": post.get("trigger", ""), "conditions": conditions,
            "actions": actions}, sources


def _form_field(field: str | None, sources: list[str]) -> str | None:
    """The service's field (`conditions.regions[2]`, `actions[1].tag`) -> the form input it came from."""
    if not field:
        return None
    if field.startswith("conditions."):
        key = field.split(".")[1].split("[")[0]
        if key == "time_window":
            return "time_end" if field.endswith(".end") else "time_start"
        return {"amount_min_minor": "amount_min", "amount_max_minor": "amount_max"}.get(key, key)
    if field.startswith("actions["):
        i = int(field[len("actions["):].split("]")[0])
        return sources[i] if i < len(sources) else "actions"
    return field


def _values(rule) -> dict:
    """A saved rule as the form's values."""
    c, currency = rule.conditions, current_merchant().default_currency
    values = {"name": rule.name, "trigger": rule.trigger}
    for key, field in (("amount_min_minor", "amount_min"), ("amount_max_minor", "amount_max")):
        if key in c:
            values[field] = str(Money(c[key], currency).to_decimal())
    for key in LIST_FIELDS:
        values[key] = ", ".join(c.get(key, []))
    if "time_window" in c:
        values["time_start"], values["time_end"] = c["time_window"]["start"], c["time_window"]["end"]
        values["time_zone"] = c["time_window"]["timezone"]
    for name, kind, key in FORM_ACTIONS:
        action = next((a for a in rule.actions if a["type"] == kind), None)
        if action is not None:
            values[name] = action.get(key, "on") if key else "on"
    return values


def _form_page(request, *, rule=None):
    currency = current_merchant().default_currency
    form = {"values": _values(rule) if rule else {}, "error": None, "error_field": None}
    status = 200
    if request.method == "POST":
        form["values"] = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
        sources: list[str] = []
        try:
            args, sources = _parse(request.POST, currency)
            if rule is None:
                saved = services.rule_create(actor=request.user, enabled=False, **args)
                messages.success(request, _("Rule “%(name)s” saved, switched off: try it with a dry run, then switch it on.")
                                 % {"name": saved.name})
                return redirect("automation-rule-dry-run", rule_id=saved.pk)
            services.rule_update(actor=request.user, rule_id=rule.pk, **args)
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": args["name"].strip()})
            return redirect("automation-rules")
        except DomainError as err:
            field = _form_field(err.field, sources)
            label = FIELD_LABELS.get(field or "", err.field or "")
            form.update(error=f"{label}: {err.message}" if label else err.message, error_field=field)
            status = 400
    return render(request, "automation/rule_form.html", {
        "rule": rule, "form": form, "currency": currency, "triggers": Trigger.choices,
        "timezone": form["values"].get("time_zone") or merchant_timezone(current_merchant()), "labels": FIELD_LABELS}, status=status)


@require_capability(CAP)
def rule_list(request):
    rules = list(selectors.rule_list())
    for rule in rules:
        rule.action_labels = [describe_action(a) for a in rule.actions]
    return render(request, "automation/rule_list.html", {"rules": rules})


@require_capability(CAP)
def rule_new(request):
    return _form_page(request)


@require_capability(CAP)
def rule_edit(request, rule_id: int):
    return _form_page(request, rule=_rule_or_404(rule_id))


@require_POST
@require_capability(CAP)
def rule_toggle(request, rule_id: int):
    rule = _rule_or_404(rule_id)
    services.rule_set_enabled(actor=request.user, rule_id=rule.pk, enabled=not rule.enabled)
    messages.success(request, (_("Rule “%(name)s” is on.") if not rule.enabled else _("Rule “%(name)s” is off.")) % {"name": rule.name})
    return redirect("automation-rules")


@require_POST
@require_capability(CAP)
def rule_move(request, rule_id: int):
    rule = _rule_or_404(rule_id)
    services.rule_move(actor=request.user, rule_id=rule.pk, up=request.POST.get("direction") != "down")
    return redirect("automation-rules")


def _day(text: str, field: str):
    try:
        return datetime.combine(datetime.strptime(text.strip()[:10], "%Y-%m-%d").date(), time.min, tzinfo=timezone.get_current_timezone())
    except ValueError:
        raise ValidationFailed(_("Write a date as YYYY-MM-DD."), field=field) from None


@require_capability(CAP)
def rule_dry_run(request, rule_id: int):
    rule = _rule_or_404(rule_id)
    params = {k: request.GET.get(k, "") for k in ("last", "since", "until")}
    error, rows = None, None
    try:
        last = parse_int(params["last"] or "50", field="last", minimum=1, maximum=selectors.DRY_RUN_MAX)
        since = _day(params["since"], "since") if params["since"].strip() else None
        until = _day(params["until"], "until") + timedelta(days=1) if params["until"].strip() else None
        rows = selectors.rule_dry_run(rule=rule, last=last, since=since, until=until)
    except ValidationFailed as err:
        error = {"field": err.field, "message": err.message}
    return render(request, "automation/rule_dry_run.html", {
        "rule": rule, "rows": rows, "params": params, "error": error,
        "matched": sum(1 for r in rows or [] if r.matched), "actions": [describe_action(a) for a in rule.actions]},
        status=400 if error else 200)


@require_capability(CAP)
def rule_runs(request, rule_id: int):
    rule = _rule_or_404(rule_id)
    return render(request, "automation/rule_runs.html", {"rule": rule, "runs": selectors.rule_runs(rule_id=rule.pk),
                                                         "action_types": ACTION_TYPES})


@require_capability(CAP)
def customer_tags(request):
    form = {"values": {}, "error": None, "error_field": None}
    status = 200
    if request.method == "POST":
        form["values"] = {"email": request.POST.get("email", "")[:300], "tags": request.POST.get("tags", "")[:2000]}
        try:
            services.customer_tags_set(actor=request.user, email=form["values"]["email"], tags=form["values"]["tags"])
            messages.success(request, _("Tags of %(email)s saved.") % {"email": form["values"]["email"].strip()})
            return redirect("automation-customer-tags")
        except DomainError as err:
            form.update(error=err.message, error_field=err.field)
            status = 400
    return render(request, "automation/customer_tags.html", {"rows": selectors.customer_tag_list(), "form": form}, status=status)
