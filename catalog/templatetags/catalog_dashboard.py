"""Dashboard widgets of the catalog: `{% load catalog_dashboard %}{% low_stock_badge %}`."""
from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from core.tenancy import current_merchant

register = template.Library()


@register.simple_tag
def low_stock_badge():
    if current_merchant() is None:
        return ""
    from catalog.selectors import low_stock_count

    n = low_stock_count()
    if not n:
        return ""
    label = ngettext("%(n)s variant low on stock", "%(n)s variants low on stock", n) % {"n": n}
    return format_html('<a class="badge low" data-testid="low-stock-badge" href="{}">{}</a>', reverse("catalog-stock"), label)
