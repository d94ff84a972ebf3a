"""Page decorators: require a merchant capability on the current merchant host, or a platform capability
on the operator console, else a 403 page."""
import functools

from django.shortcuts import render
from django.utils.translation import gettext as _

from core.tenancy import current_merchant
from permissions.selectors import user_can


def require_capability(capability: str):
    """`@require_capability("catalog.edit")` on a dashboard view.

    Anonymous users and members of other merchants never get here (the membership middleware
    stops them first); this refuses a member whose roles lack `capability`, and any request
    that is not on a merchant host at all.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            merchant = current_merchant()
            if merchant is None or not user_can(user=request.user, merchant=merchant, capability=capability):
                return render(request, "error.html", {
                    "title": _("Not allowed"),
                    "message": _("Your role does not allow this (%(capability)s).") % {"capability": capability},
                }, status=403)
            return view(request, *args, **kwargs)

        wrapper.required_capability = capability
        return wrapper

    return decorate


def require_platform_capability(capability: str):
    """`@require_platform_capability("payments.view")` on an operator console view (mall host).

    Not signed in, or not an operator: the super-admin's sign-in page (as staff_member_required did).
    An operator whose platform roles lack `capability`: a 403 page, never a redirect (it would loop).
    """
    from django.contrib.admin.views.decorators import staff_member_required

    from permissions.selectors import platform_can

    def decorate(view):
        @functools.wraps(view)
        def checked(request, *args, **kwargs):
            if not platform_can(request.user, capability):
                return render(request, "error.html", {
                    "title": _("Not allowed"),
                    "message": _("Your platform role does not allow this (%(capability)s).") % {"capability": capability},
                }, status=403)
            return view(request, *args, **kwargs)

        wrapper = staff_member_required(checked)
        wrapper.required_platform_capability = capability
        return wrapper

    return decorate
