"""Sign-in and sign-out pages and the API tokens page, on the mall host and on every merchant host."""
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.errors import NotFound, ValidationFailed
from core.tenancy import current_merchant
from permissions.selectors import api_token_get_for_user, api_tokens_for_user, membership_roles, user_can
from permissions.services import api_token_create, api_token_revoke


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))


class MallardLoginView(LoginView):
    template_name = "permissions/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = False


@require_POST
def logout_view(request):
    logout(request)
    return redirect("/")


def _tokens_context(request) -> tuple[str, dict] | None:
    """The base template for this host, or None when the user may not manage tokens here."""
    merchant = current_merchant()
    if merchant is None:
        return "base.html", {}
    # /accounts/ is open on merchant hosts (for the login page), so membership is checked here.
    if not user_can(user=request.user, merchant=merchant, capability="tokens.manage"):
        return None
    request.merchant_roles = membership_roles(user=request.user, merchant=merchant)
    return "merchants/base_dashboard.html", {"merchant": merchant}


@login_required
def api_tokens(request):
    """List, create and revoke the signed-in user's API tokens for this host (a store's host: tokens
    acting at that store; the mall host: shopper tokens). A new secret is shown once."""
    found = _tokens_context(request)
    if found is None:
        return render(request, "error.html", {
            "title": _("Not allowed"),
            "message": _("Only owners and managers of this store manage API tokens here."),
        }, status=403)
    base_template, extra = found
    merchant = current_merchant()
    context = {"base_template": base_template, "new_secret": None, "error": None, **extra}
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                token = api_token_get_for_user(user=request.user, token_id=request.POST.get("revoke") or 0)
                api_token_revoke(token=token, actor=request.user)
                messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
                return redirect("account-tokens")
            token, secret = api_token_create(user=request.user, name=request.POST.get("name", ""), merchant=merchant,
                                             read_only=request.POST.get("read_only") == "on", actor=request.user)
            context["new_secret"] = secret
            context["new_token"] = token
        except (ValidationFailed, NotFound) as exc:
            context["error"] = exc.message
    context["tokens"] = api_tokens_for_user(user=request.user).filter(merchant=merchant)
    return render(request, "permissions/tokens.html", context, status=400 if context["error"] else 200)
