"""Demo mall seed: merchants acme, globex, initech with staff for every role, an operator per platform
role (admin, finance, support), two shoppers.

Idempotent: re-running keeps existing rows. Other apps add their demo data through
`DEMO_SEEDERS` (called in order, each idempotent).
"""
from importlib import import_module

from permissions.models import User
from permissions.roles import PlatformRole, Role
from permissions.services import membership_grant, platform_roles_set, user_create
from tenants.models import Merchant

DEMO_PASSWORD = "mallard-demo"
DEMO_MERCHANTS = [("acme", "Acme Outfitters 极致户外"), ("globex", "Globex Electronics 环球电子"), ("initech", "Initech Home 家居")]
# Apps that seed demo data of their own: "module:function", called with the merchants list.
DEMO_SEEDERS: list[str] = ["catalog.demo:seed_catalog", "orders.demo:seed_orders", "payments.demo:seed_payments", "suborders.demo:seed_lifecycle",
                           "permissions.demo:seed_staff", "notifications.demo:seed_notifications"]
DEMO_SEEDERS += ["automation.demo:seed_automation"]  # rules and their runs on the lifecycle seeder's suborders
DEMO_SEEDERS += ["webhooks.demo:seed_webhooks"]  # acme: one delivery that succeeded, one that keeps failing
DEMO_SEEDERS += ["imports.demo:seed_imports"]  # acme: orders imported from Shopify and Taobao, in different states
DEMO_SEEDERS += ["accounts.demo:seed_addresses"]  # the demo shoppers' address books
DEMO_SEEDERS += ["returns.demo:seed_returns"]  # acme: returns requested, awaiting, received, refunded, refused, exchange, refund only
DEMO_SEEDERS += ["support.demo:seed_support"]  # acme: tickets in several states, one breached and escalated, one dispute decided
DEMO_SEEDERS += ["suborders.demo_cancellations:seed_cancellations"]  # acme: cancellations in each state, customer tags and notes
DEMO_SEEDERS += ["reports.demo:seed_history"]  # LAST: ~6 months of sales for every store, then the rollups rebuilt
DEMO_SEEDERS += ["reports.forecast_demo:seed_restock"]  # after the history: acme's best seller runs low; restock forecasts


def _user(email: str, *, staff: bool = False, name: str = "", platform_roles: list[str] | None = None) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = user_create(email=email, password=DEMO_PASSWORD, full_name=name, is_staff=staff, platform_roles=platform_roles)
    elif platform_roles is not None and sorted(user.platform_roles or []) != sorted(platform_roles):
        platform_roles_set(user=user, roles=platform_roles)  # a demo database seeded before platform roles
    return user


def seed_demo(stdout=None) -> list[Merchant]:
    from merchants.services import merchant_create

    _user("operator@mallard.localhost", name="Olga Operator", platform_roles=[PlatformRole.ADMIN])
    _user("finance@mallard.localhost", name="Fang Finance", platform_roles=[PlatformRole.FINANCE])
    _user("support@mallard.localhost", name="Sven Support", platform_roles=[PlatformRole.SUPPORT])
    _user("shopper1@example.com", name="Shen Shopper")
    _user("shopper2@example.com", name="Sam Shopper")
    merchants = []
    for slug, name in DEMO_MERCHANTS:
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            merchant = merchant_create(slug=slug, name=name, contact_email=f"owner@{slug}.localhost")
        for role in Role.values:
            email = f"{role.replace('_', '')}@{slug}.localhost"
            membership_grant(user=_user(email, name=f"{slug} {role}"), merchant=merchant, roles=[role])
        merchants.append(merchant)
    for ref in DEMO_SEEDERS:
        module, func = ref.split(":")
        getattr(import_module(module), func)(merchants)
    if stdout:
        stdout.write(f"demo mall ready: {', '.join(m.slug for m in merchants)}; password '{DEMO_PASSWORD}'")
    return merchants
