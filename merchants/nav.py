"""The merchant dashboard's navigation: (label, url name, capability). Apps add their pages here."""
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from permissions.roles import roles_allow

DASHBOARD_NAV: list[tuple] = [
    (_("Products"), "catalog-products", "catalog.view"),
    (_("Warehouses"), "catalog-warehouses", "stock.view"),
    (_("Stock"), "catalog-stock", "stock.view"),
    (_("Import"), "catalog-import", "catalog.edit"),
    (_("Suborders"), "suborders-list", "suborders.view"),
    (_("Cancellations"), "cancellations-queue", "cancellations.decide"),
    (_("Customers"), "customers-list", "customers.view"),
    (_("Reports"), "reports-analytics", "reports.view"),
    (_("Restock"), "restock", "restock.view"),  # demand forecasts and restock suggestions
    (_("Exports"), "exports", "dashboard.view"),  # my background exports
    (_("Import orders"), "imports-orders", "orders.import"),
    (_("Flagged parcels"), "parcels-flagged", "suborders.view"),
    (_("Pick & pack"), "suborders-warehouse", "suborders.ship"),
    (_("Returns"), "returns-list", "returns.view"),
    (_("Documents"), "documents", "suborders.ship"),
    (_("New order"), "drafts-list", "orders.create"),
    (_("Payments"), "payments-merchant", "payments.view"),
    (_("Tickets"), "support-tickets", "tickets.view"),
    (_("Shipping"), "shipping-rules", "shipping.edit"),
    (_("Staff"), "staff", "staff.manage"),
    (_("Roles"), "role-matrix", "dashboard.view"),
    (_("Audit trail"), "audit", "audit.view"),
    (_("Automation"), "automation-rules", "automation.manage"),
    (_("API tokens"), "account-tokens", "tokens.manage"),
    (_("Email branding"), "store-branding", "branding.edit"),
    (_("Webhooks"), "webhooks", "webhooks.manage"),
]


def dashboard_nav(request) -> dict:
    roles = getattr(request, "merchant_roles", None)
    if not roles:
        return {}
    items = []
    for label, name, cap in DASHBOARD_NAV:
        if not roles_allow(roles, cap):
            continue
        try:
            items.append({"label": label, "url": reverse(name)})
        except NoReverseMatch:  # page not built yet
            continue
    return {"dashboard_nav": items}
