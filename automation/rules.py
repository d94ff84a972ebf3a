"""What a rule may say, checked once when it is saved, and how it is read against one suborder.

Conditions (all must hold; absent = no constraint):
  amount_min_minor / amount_max_minor  the suborder's total, integer minor units, inclusive
  regions        the shipping address's region/province is one of these (case-insensitive)
  skus           one of the suborder's lines has one of these SKUs
  categories     one of its lines' products is in one of these categories (by name, or its parent's name)
  channels       it was sold on one of these channels ("mallard" = the storefront and staff drafts)
  customer_tags  the shopper's email carries one of these CustomerTag tags
  time_window    {"start": "HH:MM", "end": "HH:MM", "timezone": "Asia/Shanghai"}: the event happened in this
                 window of the merchant's day (an end before the start wraps past midnight)
Actions (run in the order given): accept, hold {reason}, add_tag {tag}, add_note {text},
  print_label (queue the labels of its shipments), notify_staff {email}, webhook (emit automation.rule_fired).
Every error names its field the way the API sends it: `conditions.regions`, `actions[1].tag`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automation.models import Trigger
from core.errors import ValidationFailed
from core.inputs import clean_text, parse_int

MAX_AMOUNT_MINOR = 10**12
MAX_LIST = 200
MAX_ACTIONS = 10
ITEM_MAX = 64
LIST_CONDITIONS = ("regions", "skus", "categories", "channels", "customer_tags")
CONDITION_KEYS = ("amount_min_minor", "amount_max_minor", *LIST_CONDITIONS, "time_window")

ACTION_TYPES = {
    "accept": gettext_lazy("Accept the suborder"),
    "hold": gettext_lazy("Hold it for review"),
    "add_tag": gettext_lazy("Add a tag"),
    "add_note": gettext_lazy("Add a note"),
    "print_label": gettext_lazy("Queue its shipping labels for printing"),
    "notify_staff": gettext_lazy("Email a staff member"),
    "webhook": gettext_lazy("Send the store's webhooks (automation.rule_fired)"),
}
# Actions that only make sense for some triggers: a suborder is accepted while it awaits acceptance (paid),
# labels exist once something has shipped.
ACTION_TRIGGERS = {
    "accept": {Trigger.PAID, Trigger.LINE_OUT_OF_STOCK},
    "print_label": {Trigger.SHIPPED, Trigger.LATE},
}
# The store capability each action needs of the rule's owner (checked again at every run).
ACTION_CAPABILITY = {
    "accept": "suborders.accept", "hold": "suborders.accept", "add_tag": "suborders.edit_address",
    "add_note": "suborders.edit_address", "print_label": "suborders.ship", "notify_staff": "automation.manage",
    "webhook": "automation.manage",
}
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def merchant_timezone(merchant) -> str:
    """The merchant's zone for time-of-day windows: its own when the model has one, else the mall's display zone."""
    return getattr(merchant, "timezone", "") or settings.DISPLAY_TIME_ZONE


def clean_trigger(value: object) -> str:
    if value not in Trigger.values:
        raise ValidationFailed(_("Choose a trigger from the list."), field="trigger")
    return value


def clean_list(value: object, *, field_name: str, lower: bool) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationFailed(_("Must be a list."), field=f"conditions.{field_name}")
    items: list[str] = []
    for i, item in enumerate(value):
        text = clean_text(item, field=f"conditions.{field_name}[{i}]", max_length=ITEM_MAX)
        text = text.lower() if lower else text
        if text and text not in items:
            items.append(text)
    if len(items) > MAX_LIST:
        raise ValidationFailed(_("At most %(n)s entries.") % {"n": MAX_LIST}, field=f"conditions.{field_name}")
    return items


def _clean_time(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not _HHMM.fullmatch(value.strip()):
        raise ValidationFailed(_("Write a time as HH:MM, 00:00 to 23:59."), field=field_name)
    return value.strip()


def clean_conditions(raw: object, *, merchant=None) -> dict:
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed(_("Must be an object."), field="conditions")
    unknown = sorted(set(raw) - set(CONDITION_KEYS))
    if unknown:
        raise ValidationFailed(_("Unknown condition %(name)s.") % {"name": unknown[0][:40]}, field=f"conditions.{unknown[0][:40]}")
    out: dict = {}
    for key in ("amount_min_minor", "amount_max_minor"):
        if raw.get(key) not in (None, ""):
            out[key] = parse_int(raw[key], field=f"conditions.{key}", minimum=0, maximum=MAX_AMOUNT_MINOR)
    if "amount_min_minor" in out and "amount_max_minor" in out and out["amount_min_minor"] > out["amount_max_minor"]:
        raise ValidationFailed(_("The minimum is above the maximum."), field="conditions.amount_max_minor")
    for key in LIST_CONDITIONS:
        if raw.get(key) not in (None, "", []):
            items = clean_list(raw[key], field_name=key, lower=key != "skus")
            if items:
                out[key] = items
    window = raw.get("time_window")
    if window not in (None, "", {}):
        if not isinstance(window, dict):
            raise ValidationFailed(_("Must be an object with start and end."), field="conditions.time_window")
        start = _clean_time(window.get("start"), "conditions.time_window.start")
        end = _clean_time(window.get("end"), "conditions.time_window.end")
        if start == end:
            raise ValidationFailed(_("The window must not start and end at the same minute."), field="conditions.time_window.end")
        zone = window.get("timezone") or merchant_timezone(merchant)
        try:
            ZoneInfo(str(zone)[:64])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(_("Unknown time zone."), field="conditions.time_window.timezone") from None
        out["time_window"] = {"start": start, "end": end, "timezone": str(zone)}
    return out


def clean_actions(raw: object, *, trigger: str, staff_emails: set[str] | None = None) -> list[dict]:
    """`staff_emails`: the store's active members (notify_staff may only email one of them)."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationFailed(_("Choose at least one action."), field="actions")
    if len(raw) > MAX_ACTIONS:
        raise ValidationFailed(_("At most %(n)s actions.") % {"n": MAX_ACTIONS}, field="actions")
    out: list[dict] = []
    for i, item in enumerate(raw):
        at = f"actions[{i}]"
        if not isinstance(item, dict):
            raise ValidationFailed(_("Must be an object with a type."), field=at)
        kind = item.get("type")
        if kind not in ACTION_TYPES:
            raise ValidationFailed(_("Choose an action from the list."), field=f"{at}.type")
        allowed = ACTION_TRIGGERS.get(kind)
        if allowed is not None and trigger not in allowed:
            raise ValidationFailed(_("“%(action)s” cannot follow the trigger “%(trigger)s”.")
                                   % {"action": ACTION_TYPES[kind], "trigger": Trigger(trigger).label}, field=f"{at}.type")
        action: dict = {"type": kind}
        if kind == "add_tag":
            from suborders.holds import clean_tag

            action["tag"] = clean_tag(item.get("tag"), field=f"{at}.tag")
        elif kind == "add_note":
            action["text"] = clean_text(item.get("text"), field=f"{at}.text", max_length=500, required=True)
        elif kind == "hold":
            action["reason"] = clean_text(item.get("reason"), field=f"{at}.reason", max_length=300, required=True)
        elif kind == "notify_staff":
            email = clean_text(item.get("email"), field=f"{at}.email", max_length=254, required=True).lower()
            if staff_emails is not None and email not in staff_emails:
                raise ValidationFailed(_("%(email)s is not a member of this store's staff.") % {"email": email}, field=f"{at}.email")
            action["email"] = email
        if kind in ("accept", "print_label", "webhook") and action in out:
            raise ValidationFailed(_("This action is already in the list."), field=f"{at}.type")
        out.append(action)
    return out


# --- reading a rule against a suborder -------------------------------------------------------------------

@dataclass
class Facts:
    """What the conditions look at, for one suborder at the moment of its event."""

    total_minor: int
    region: str
    skus: set[str]
    categories: set[str]  # lower-case names of its products' categories and their parents
    channel: str
    customer_tags: set[str]
    at: datetime
    extra: dict = field(default_factory=dict)


def _in_window(at: datetime, window: dict) -> bool:
    local = at.astimezone(ZoneInfo(window["timezone"])).time().replace(second=0, microsecond=0)
    start, end = (time.fromisoformat(window[k]) for k in ("start", "end"))
    return start <= local < end if start < end else (local >= start or local < end)


def first_failed(conditions: dict, facts: Facts) -> str | None:
    """The first condition that does not hold (None: all hold)."""
    c = conditions
    if "amount_min_minor" in c and facts.total_minor < c["amount_min_minor"]:
        return "amount_min_minor"
    if "amount_max_minor" in c and facts.total_minor > c["amount_max_minor"]:
        return "amount_max_minor"
    if "regions" in c and facts.region.strip().lower() not in c["regions"]:
        return "regions"
    if "skus" in c and not facts.skus & set(c["skus"]):
        return "skus"
    if "categories" in c and not facts.categories & set(c["categories"]):
        return "categories"
    if "channels" in c and facts.channel.lower() not in c["channels"]:
        return "channels"
    if "customer_tags" in c and not facts.customer_tags & set(c["customer_tags"]):
        return "customer_tags"
    if "time_window" in c and not _in_window(facts.at, c["time_window"]):
        return "time_window"
    return None


CONDITION_LABELS = {
    "amount_min_minor": gettext_lazy("total at least"), "amount_max_minor": gettext_lazy("total at most"),
    "regions": gettext_lazy("region"), "skus": gettext_lazy("SKU"), "categories": gettext_lazy("category"),
    "channels": gettext_lazy("channel"), "customer_tags": gettext_lazy("customer tag"),
    "time_window": gettext_lazy("time of day"),
}


def describe_action(action: dict) -> str:
    label = str(ACTION_TYPES.get(action.get("type"), action.get("type")))
    detail = action.get("tag") or action.get("text") or action.get("reason") or action.get("email") or ""
    return f"{label}: {detail}" if detail else label
