"""Template filters for money in minor units: `{{ row.price_minor|money:row.currency }}`."""
from django import template

from core.errors import ValidationFailed
from core.money import Money

register = template.Library()


@register.filter
def money(minor, currency):
    try:
        return Money(int(minor), str(currency)).format()
    except (TypeError, ValueError, ValidationFailed):
        return f"{currency} {minor}"


@register.filter
def options_label(options):
    """{"size": "M", "colour": "red"} -> "size: M · colour: red"."""
    if not options:
        return ""
    if isinstance(options, dict):
        return " · ".join(f"{k}: {v}" for k, v in options.items())
    return str(options)
