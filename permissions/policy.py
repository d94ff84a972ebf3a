"""The one policy entry point write services call: `authorize(actor, capability, merchant=...)`.

With a merchant, `capability` is a store capability (permissions.roles.CAPABILITIES): the actor's roles at
that merchant grant it; an operator with merchants.act (admin) may act in any merchant (console
interventions), another operator only where OPERATOR_STORE_CAPABILITIES maps the store capability to a
platform capability they hold (finance refunds). Without a merchant, a platform capability
(PLATFORM_CAPABILITIES) is checked against the operator's platform roles. Anonymous actors never pass.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import PermissionDenied
from permissions.roles import OPERATOR_STORE_CAPABILITIES, PLATFORM_CAPABILITIES
from permissions.selectors import platform_can, platform_roles_of, user_can


def operator_may_in_store(actor, capability: str) -> bool:
    """May this operator use a store capability in a store they are not a member of?"""
    if not platform_roles_of(actor):
        return False
    if platform_can(actor, "merchants.act"):
        return True
    granted_by = OPERATOR_STORE_CAPABILITIES.get(capability)
    return granted_by is not None and platform_can(actor, granted_by)


def authorize(actor, capability: str, *, merchant=None, obj=None) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to do this."), code="not_authenticated")
    if merchant is None and capability in PLATFORM_CAPABILITIES:
        if platform_can(actor, capability):
            return
        raise PermissionDenied(_("Your platform role does not allow this (%(capability)s).") % {"capability": capability})
    if merchant is not None and user_can(user=actor, merchant=merchant, capability=capability):
        return
    if operator_may_in_store(actor, capability):
        return
    raise PermissionDenied(_("Your role does not allow this (%(capability)s).") % {"capability": capability})
