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
    "orders.import": frozenset({Role.OWNER, Role.MANAGER}),  # import orders sold on other channels (imports/)
    "suborders.accept": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),
    # refusing or cancelling units refunds them: an amount changes, so not customer service (issue 9's matrix)
    "suborders.refuse": frozenset({Role.OWNER, Role.MANAGER}),
    "suborders.edit_lines": frozenset({Role.OWNER, Role.MANAGER}),  # swap a line's variant before it ships
    "suborders.assign": frozenset({Role.OWNER, Role.MANAGER}),  # give a suborder to a customer-service agent
    "suborders.ship": frozenset({Role.OWNER, Role.MANAGER, Role.WAREHOUSE}),
    "suborders.edit_address": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),
    # support tickets (support/): finance reads them (disputes about money), never answers; warehouse has none
    "tickets.view": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.FINANCE}),
    "tickets.reply": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),  # messages, notes, status, disputes
    "tickets.manage": frozenset({Role.OWNER, Role.MANAGER}),  # assign, canned replies, support hours and SLA targets
    "cancellations.decide": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),  # approve/refuse shoppers' requests
    "customers.view": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.FINANCE}),  # the store's customers
    "customers.edit": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),  # tag them, add private notes
    "reports.view": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),  # sales analytics (reports/analytics_views.py)
    "returns.view": ALL_ROLES,  # the returns queue and a return's detail
    "returns.decide": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE}),  # approve or refuse a return
    "returns.receive": frozenset({Role.OWNER, Role.MANAGER, Role.WAREHOUSE}),  # receive and inspect returned goods
    "restock.view": frozenset({Role.OWNER, Role.MANAGER, Role.WAREHOUSE}),  # demand forecasts, restock suggestions, purchase list
    "returns.policy": frozenset({Role.OWNER, Role.MANAGER}),  # the store's return policy
    "payments.view": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),
    "refunds.create": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),
    "payments.offline": frozenset({Role.OWNER, Role.MANAGER, Role.FINANCE}),  # mark an order paid outside the gateways
    "shipping.edit": frozenset({Role.OWNER, Role.MANAGER}),
    "staff.manage": frozenset({Role.OWNER, Role.MANAGER}),  # only owners touch the owner role (services)
    "tokens.manage": frozenset({Role.OWNER, Role.MANAGER}),
    "webhooks.manage": frozenset({Role.OWNER, Role.MANAGER}),  # endpoints, their secrets, deliveries, replays
    "audit.view": frozenset({Role.OWNER, Role.MANAGER}),  # search and export the store's audit trail
    "branding.edit": frozenset({Role.OWNER, Role.MANAGER}),  # the store's name, logo and footer in its shoppers' emails
    "automation.manage": frozenset({Role.OWNER, Role.MANAGER}),  # automation rules, their dry runs and shoppers' tags
    # what of an order a role sees (permissions.visibility): warehouse never sees money, finance sees contacts masked
    "amounts.view": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.FINANCE}),
    "contacts.view": frozenset({Role.OWNER, Role.MANAGER, Role.CUSTOMER_SERVICE, Role.WAREHOUSE}),
}


CAPABILITY_LABELS = {
    "dashboard.view": _("Open the store's dashboard"),
    "catalog.view": _("See products and variants"),
    "catalog.edit": _("Create and edit products, variants, prices and categories"),
    "stock.view": _("See warehouses and stock levels"),
    "stock.edit": _("Receive, adjust and count stock"),
    "warehouse.edit": _("Create and edit warehouses"),
    "suborders.view": _("See suborders"),
    "orders.create": _("Enter orders for customers (代客下单)"),
    "orders.import": _("Import orders sold on other channels (Shopify, Taobao, our CSV/XLSX)"),
    "suborders.accept": _("Accept suborders"),
    "suborders.refuse": _("Refuse or cancel suborder lines (their paid units are refunded)"),
    "suborders.edit_lines": _("Swap a line's variant for another of the same product before it ships"),
    "suborders.assign": _("Assign suborders to customer-service agents"),
    "suborders.ship": _("Pick, pack, print labels and ship; enter tracking events"),
    "suborders.edit_address": _("Change a suborder's shipping address, phone and note before it ships"),
    "tickets.view": _("See the store's support tickets and their SLA timers"),
    "tickets.reply": _("Answer tickets, write internal notes, change a ticket's status, ask the mall to decide"),
    "tickets.manage": _("Assign tickets, edit canned replies, support hours and SLA targets"),
    "cancellations.decide": _("Approve or refuse shoppers' cancellation requests (approved units are refunded)"),
    "customers.view": _("See the store's customers: their orders here, totals, tags and notes (export them)"),
    "customers.edit": _("Tag the store's customers and add private notes on them"),
    "reports.view": _("See the store's sales reports: orders, GMV, refunds, peak hours, regions, best sellers"),
    "returns.view": _("See returns, exchanges and refund-only requests"),
    "returns.decide": _("Approve or refuse returns, exchanges and refund-only requests"),
    "returns.receive": _("Receive returned goods, inspect them, restock or write them off"),
    "restock.view": _("See demand forecasts, restock and transfer suggestions, and the purchase list"),
    "returns.policy": _("Edit the store's return policy"),
    "payments.view": _("See payments, refunds and amounts paid"),
    "refunds.create": _("Refund shoppers"),
    "payments.offline": _("Mark an order paid outside the gateways"),
    "shipping.edit": _("Edit shipping rules"),
    "staff.manage": _("Invite staff, set their roles and remove them (owners alone for owners)"),
    "tokens.manage": _("Create and revoke API tokens"),
    "webhooks.manage": _("Add and edit webhook endpoints, see their secrets and deliveries, redeliver and replay"),
    "audit.view": _("Search and export the audit trail"),
    "branding.edit": _("Set the store's name, logo and footer in its shoppers' emails"),
    "automation.manage": _("Create, test and switch on automation rules; tag shoppers"),
    "amounts.view": _("See prices, totals, discounts, payments and refunds"),
    "contacts.view": _("See shoppers' phone numbers and street addresses unmasked"),
}


def roles_allow(roles: set[str] | frozenset[str] | list[str], capability: str) -> bool:
    allowed = CAPABILITIES.get(capability)
    if allowed is None:
        raise KeyError(f"unknown capability {capability!r}")
    return bool(set(roles) & allowed)


# --- the platform side: operators' roles (held on the user, public schema) ---------------------------

class PlatformRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    FINANCE = "finance", _("Finance")
    SUPPORT = "support", _("Support agent")


ALL_PLATFORM_ROLES = frozenset(PlatformRole.values)
_ADMIN = frozenset({PlatformRole.ADMIN})
_MONEY = frozenset({PlatformRole.ADMIN, PlatformRole.FINANCE})

# platform capability -> operator roles holding it. The console, the super-admin and the platform services
# ask for one of these (permissions.selectors.platform_can, permissions.policy.authorize without a merchant).
PLATFORM_CAPABILITIES: dict[str, frozenset[str]] = {
    "console.view": ALL_PLATFORM_ROLES,
    "orders.view_all": ALL_PLATFORM_ROLES,  # late and overdue suborders of every store
    "orders.import_all": _ADMIN,  # import a multi-merchant order file on the mall host (imports/)
    "parcels.view": ALL_PLATFORM_ROLES,  # flagged parcels of every store
    "outbox.view": ALL_PLATFORM_ROLES,  # the outbox and its dead letters in the super-admin
    "merchants.manage": _ADMIN,  # onboard, edit, suspend, reinstate
    "merchants.act": _ADMIN,  # act inside any store with every store capability (interventions)
    "users.manage": _ADMIN,  # users, memberships, operators' roles, API tokens
    "payments.view": _MONEY,
    "refunds.operator": _MONEY,  # refunds from the console
    "gateway_events.reprocess": _MONEY,
    "payments.settings": _ADMIN,  # gateways offered, capture policy
    "audit.view_all": _ADMIN,  # every store's audit trail, and its export
    "outbox.requeue": _ADMIN,
    "carriers.manage": _ADMIN,  # the transit-time (ETA) table
    "security.settings": _ADMIN,  # sign-in rules: second factor required of owners and operators
    "notifications.view": ALL_PLATFORM_ROLES,  # the log of every email and SMS sent
    "notifications.edit": _ADMIN,  # notification templates (every kind, both languages)
    "tickets.view_all": ALL_PLATFORM_ROLES,  # escalations and disputes of every store, SLA records
    "tickets.operate": ALL_PLATFORM_ROLES,  # join a ticket: reply, note, change its status
    "reports.view_all": _MONEY,  # the mall's sales reports with GMV and commission per store
    "disputes.decide": _MONEY,  # decide a dispute (a refund from the store's share or at the mall's cost, or none)
}

PLATFORM_CAPABILITY_LABELS = {
    "console.view": _("Open the operator console"),
    "reports.view_all": _("See the mall's sales reports with GMV and commission per store"),
    "orders.view_all": _("See late and overdue suborders of every store"),
    "orders.import_all": _("Import multi-merchant order files from other channels"),
    "parcels.view": _("See flagged parcels of every store"),
    "outbox.view": _("See the outbox and its dead letters"),
    "merchants.manage": _("Onboard, edit, suspend and reinstate merchants"),
    "merchants.act": _("Act inside any store with every store capability"),
    "users.manage": _("Manage users, store memberships, operators' roles and API tokens"),
    "payments.view": _("See payments, their refunds and gateway events"),
    "refunds.operator": _("Refund shoppers from the console"),
    "gateway_events.reprocess": _("Re-process a stored gateway notification"),
    "payments.settings": _("Choose the payment methods offered and the capture policy"),
    "audit.view_all": _("Search and export every store's audit trail"),
    "outbox.requeue": _("Requeue dead letters"),
    "carriers.manage": _("Edit carriers' transit times (the delivery estimate table)"),
    "security.settings": _("Require a second factor of store owners and operators"),
    "notifications.view": _("See every email and SMS sent"),
    "notifications.edit": _("Edit the notification templates"),
    "tickets.view_all": _("See escalated tickets, disputes and SLA records of every store"),
    "tickets.operate": _("Join a store's ticket: reply, write internal notes, change its status"),
    "disputes.decide": _("Decide disputes (refund from the store's share, at the mall's cost, or refuse)"),
}

# A store capability an operator without merchants.act may still use inside a store, and the platform
# capability that grants it (a finance operator refunds from the console; nothing else is written).
OPERATOR_STORE_CAPABILITIES: dict[str, str] = {
    "refunds.create": "refunds.operator",
    "payments.view": "payments.view",
    "suborders.view": "orders.view_all",
    "audit.view": "audit.view_all",
}


def platform_roles_allow(roles: set[str] | frozenset[str] | list[str], capability: str) -> bool:
    allowed = PLATFORM_CAPABILITIES.get(capability)
    if allowed is None:
        raise KeyError(f"unknown platform capability {capability!r}")
    return bool(set(roles) & allowed)
