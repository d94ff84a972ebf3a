"""`{% if user|platform_can:"payments.view" %}`: the console shows an operator only what their platform roles allow."""
from django import template

from permissions.selectors import platform_can as _platform_can

register = template.Library()


@register.filter
def platform_can(user, capability: str) -> bool:
    return _platform_can(user, capability)
