"""Merchant staff roles and what each may do. One table, read by pages, API and services."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    FINANCE = "finance", _("Finance")
    WAREHOUSE = "warehouse", _("Warehouse")


ALL_ROLES = frozenset(Role.values)

# capability -> roles holding it. Services and views ask for a capability, never a role name.
CAPABILITIES: dict[str, frozenset[str]] = {
    "dashboard.view": ALL_ROLES,
    "catalog.view": ALL_ROLES,
    "catalog.edit": frozenset({Role.OWNER, Role.MANAGER}),
    "stock.view": ALL_ROLES,
    "stock.edit": frozenset({Role.OWNER, Role.MANAGER, Role.WAREHOUSE}),
    "warehouse.edit": frozenset({Role.OWNER, Role.MANAGER}),
    "suborders.view": ALL_ROLES,
    "orders.create": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),  # enter an order for a customer
    "suborders.accept": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),
    "suborders.ship": frozenset({Role.OWNER, Role.MANAGER, Role.WAREHOUSE}),
    "suborders.edit_address": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),
    "payments.view": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),
    "refunds.create": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),
    "payments.offline": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),  # mark an order paid outside the gateways
    "shipping.edit": frozenset({Role.OWNER, Role.MANAGER}),
    "staff.manage": frozenset({Role.OWNER}),
    "tokens.manage": frozenset({Role.OWNER, Role.MANAGER}),
    "audit.view": frozenset({Role.OWNER, Role.MANAGER}),  # search and export the store's audit trail
}


def roles_allow(roles: set[str] | frozenset[str] | list[str], capability: str) -> bool:
    allowed = CAPABILITIES.get(capability)
    if allowed is None:
        raise KeyError(f"unknown capability {capability!r}")
    return bool(set(roles) & allowed)
