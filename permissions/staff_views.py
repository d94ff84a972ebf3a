"""The store's staff page (invite, set roles, remove), the role matrix, and accepting an invitation."""
from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.errors import DomainError
from core.inputs import is_ascii_digits
from core.tenancy import current_merchant
from permissions.roles import Role
from permissions.selectors import (
    role_matrix,
    staff_for_merchant,
    staff_invitation_get,
    staff_membership_get,
)
from permissions.services import (
    membership_deactivate,
    membership_roles_set,
    staff_invitation_accept,
    staff_invitation_revoke,
    staff_invite,
)


def _roles_from(post) -> list[str]:
    return [r for r in post.getlist("roles")[:10] if isinstance(r, str)]


def staff_page(request):
    merchant = current_merchant()
    status = 200
    context = {"merchant": merchant, "roles": Role.choices, "error": None, "field": None, "new_link": None,
               "form_email": ""}
    if request.method == "POST":
        try:
            action = request.POST.get("action", "")
            if action == "invite":
                context["form_email"] = request.POST.get("email", "")[:254]
                invitation, token = staff_invite(actor=request.user, merchant=merchant, email=request.POST.get("email", ""),
                                                 roles=_roles_from(request.POST))
                context["new_link"] = request.build_absolute_uri(f"/accounts/invitations/{token}/")
                context["form_email"] = ""
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            elif action == "roles":
                m = staff_membership_get(merchant=merchant, membership_id=request.POST.get("membership", ""))
                membership_roles_set(actor=request.user, membership=m, roles=_roles_from(request.POST))
                messages.success(request, _("Roles of %(email)s saved.") % {"email": m.user.email})
                return redirect("staff")
            elif action == "deactivate":
                m = staff_membership_get(merchant=merchant, membership_id=request.POST.get("membership", ""))
                membership_deactivate(actor=request.user, membership=m)
                messages.success(request, _("%(email)s no longer has access to this store.") % {"email": m.user.email})
                return redirect("staff")
            elif action == "grants":
                from catalog.services import warehouse_grants_set

                m = staff_membership_get(merchant=merchant, membership_id=request.POST.get("membership", ""))
                ids = [int(v) for v in request.POST.getlist("warehouses")[:200] if is_ascii_digits(v)]
                warehouse_grants_set(actor=request.user, user=m.user, warehouse_ids=ids)
                messages.success(request, _("Warehouses of %(email)s saved.") % {"email": m.user.email})
                return redirect("staff")
            elif action == "assigned_only":
                from permissions.services import membership_assigned_only_set

                m = staff_membership_get(merchant=merchant, membership_id=request.POST.get("membership", ""))
                membership_assigned_only_set(actor=request.user, membership=m, assigned_only=request.POST.get("assigned_only") == "on")
                messages.success(request, _("Saved what %(email)s sees.") % {"email": m.user.email})
                return redirect("staff")
            elif action == "revoke_invitation":
                inv = staff_invitation_get(merchant=merchant, invitation_id=request.POST.get("invitation", ""))
                staff_invitation_revoke(actor=request.user, invitation=inv)
                messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": inv.email})
                return redirect("staff")
            else:
                context["error"], context["field"], status = _("Unknown action."), "action", 400
        except DomainError as exc:
            if exc.status == 403:
                return render(request, "error.html", {"title": _("Not allowed"), "message": exc.message}, status=403)
            context["error"], context["field"], status = exc.message, exc.field, exc.status
    try:
        members, invitations = staff_for_merchant(actor=request.user, merchant=merchant)
    except DomainError as exc:
        return render(request, "error.html", {"title": _("Not allowed"), "message": exc.message}, status=exc.status)
    from catalog.selectors import warehouse_grants_for, warehouse_list

    grants = warehouse_grants_for(user_ids=[m.user_id for m in members])
    labels = dict(Role.choices)
    for inv in invitations:
        inv.role_labels = [str(labels.get(r, r)) for r in inv.roles]
    for m in members:
        m.granted = grants.get(m.user_id, [])
        m.limitable = set(m.roles) == {Role.WAREHOUSE}
        m.agent = set(m.roles) == {Role.CUSTOMER_SERVICE}
    context.update(members=members, invitations=invitations, warehouses=warehouse_list(),
                   is_owner=Role.OWNER in getattr(request, "merchant_roles", []) or request.user.is_staff)
    return render(request, "permissions/staff.html", context, status=status)


def role_matrix_page(request):
    return render(request, "permissions/role_matrix.html", {
        "merchant": current_merchant(), "role_labels": [label for _v, label in Role.choices], "rows": role_matrix()})


class AcceptForm(forms.Form):
    full_name = forms.CharField(label=_lazy("Your name"), max_length=150, required=False)
    password = forms.CharField(label=_lazy("Choose a password"), widget=forms.PasswordInput, max_length=128, required=False)


def invitation_accept(request, token: str):
    """Open the link: see the store and roles; accept (signed in as the invited email, or by choosing a
    password for a new account)."""
    from permissions.services import invitation_from_token

    merchant = current_merchant()
    if merchant is None:
        return render(request, "error.html", {"title": _("Not found"), "message": _("Open the link on the store's own host.")},
                      status=404)
    try:
        invitation = invitation_from_token(token, merchant=merchant)
    except DomainError as exc:
        return render(request, "error.html", {"title": _("Invitation"), "message": exc.message}, status=400)
    form = AcceptForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            membership = staff_invitation_accept(token=token, merchant=merchant, user=request.user,
                                                 password=form.cleaned_data["password"],
                                                 full_name=form.cleaned_data["full_name"])
            if not request.user.is_authenticated:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to %(store)s.") % {"store": merchant.name})
            return redirect("dashboard")
        except DomainError as exc:
            error = exc.message
    return render(request, "permissions/invitation_accept.html", {
        "invitation": invitation, "merchant": merchant, "form": form, "error": error,
        "roles": [str(Role(r).label) for r in invitation.roles]}, status=400 if error else 200)
