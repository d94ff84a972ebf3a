"""The one policy entry point write services call: `authorize(actor, capability, merchant=...)`.

Raises PermissionDenied unless the actor's roles at the merchant grant the capability. The platform
operator (is_staff) may act in any merchant (console interventions); anonymous actors never.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import PermissionDenied
from permissions.selectors import user_can


def authorize(actor, capability: str, *, merchant=None, obj=None) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to do this."), code="not_authenticated")
    if getattr(actor, "is_staff", False):
        return
    if merchant is None or not user_can(user=actor, merchant=merchant, capability=capability):
        raise PermissionDenied(_("Your role does not allow this (%(capability)s).") % {"capability": capability})
