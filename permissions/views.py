"""Sign-in (password, then the second factor's code where set up), sign-out, the account security page and the API
tokens page, on the mall host and on every merchant host."""
from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound, ValidationFailed
from core.tenancy import current_merchant
from permissions import second_factor
from permissions.selectors import (
    api_token_get_for_user,
    api_tokens_for_user,
    membership_roles,
    second_factor_required_of,
    totp_device_get,
    user_can,
)
from permissions.services import (
    api_token_create,
    api_token_revoke,
    totp_device_remove,
    totp_enrolment_confirm,
    totp_enrolment_start,
)


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))


class MallardLoginView(LoginView):
    """Sign-in on every host and for the super-admin: the password, then, for a user with a confirmed
    TOTP device, a code (permissions.second_factor). Nobody is signed in before the last step passes;
    a wrong password and a wrong code are both failed sign-ins for the lockout."""

    template_name = "permissions/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = False

    def get(self, request, *args, **kwargs):
        second_factor.pending_clear(request)  # opening the page starts a sign-in from the password
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if "otp_token" in request.POST:
            return self.code_step(request)
        second_factor.pending_clear(request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if totp_device_get(user=user) is None:
            return super().form_valid(form)
        second_factor.pending_begin(self.request, user=user, next_url=self.get_success_url())
        return self.code_page()

    def code_page(self, error=None):
        return render(self.request, "permissions/login_code.html", {"error": error})

    def code_step(self, request):
        from permissions.lockout import lockout_response
        from permissions.models import User

        pending = second_factor.pending_get(request)
        user = User.objects.filter(pk=pending["user_id"], is_active=True).first() if pending else None
        device = totp_device_get(user=user) if user is not None else None
        if device is None:  # too slow, another tab, or the device was removed meanwhile: the password again
            second_factor.pending_clear(request)
            messages.error(request, _("Your sign-in timed out. Type your email and password again."))
            return redirect(request.get_full_path())
        if second_factor.sign_in_locked(request, pending["email"]):
            second_factor.pending_clear(request)
            return lockout_response(request)
        if second_factor.code_wait_until(device) is not None:
            return self.code_page(_("Too many wrong codes: wait a few seconds, then type the code your app shows."))
        if not second_factor.code_matches(device, request.POST.get("otp_token")):
            second_factor.sign_in_failed(request, pending["email"])
            if getattr(request, "axes_locked_out", False):  # AxesMiddleware answers with the lockout page
                second_factor.pending_clear(request)
            return self.code_page(_("That code is not right: type the 6 digits your app shows now."))
        second_factor.pending_clear(request)
        user.backend = pending["backend"]
        user.otp_device = device  # django-otp's user_logged_in hook marks this session as verified
        auth_login(request, user)
        return HttpResponseRedirect(pending["next"])


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


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return ""


@login_required
def account_security(request):
    """Two-step sign-in for the signed-in user, on any host: set up an authenticator app (QR code and key,
    confirmed with a code), see it, remove it (with a current code)."""
    from django_otp import login as otp_login

    merchant = current_merchant()
    base_template, extra = "base.html", {}
    if merchant is not None and membership_roles(user=request.user, merchant=merchant):
        request.merchant_roles = membership_roles(user=request.user, merchant=merchant)
        base_template, extra = "merchants/base_dashboard.html", {"merchant": merchant}
    next_url = _safe_next(request)
    error = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "start":
                totp_enrolment_start(user=request.user)
            elif action == "confirm":
                device = totp_enrolment_confirm(user=request.user, code=request.POST.get("code", ""))
                otp_login(request, device)  # this session has just shown a code
                messages.success(request, _("Two-step sign-in is on. You will be asked for a code each time you sign in."))
                if next_url:
                    return HttpResponseRedirect(next_url)
            elif action in ("remove", "cancel"):
                had = totp_device_get(user=request.user) is not None
                totp_device_remove(user=request.user, actor=request.user, code=request.POST.get("code", ""))
                if had:
                    messages.success(request, _("Two-step sign-in is off."))
            return redirect(f"{request.path}?next={next_url}" if next_url else request.path)
        except DomainError as exc:
            error = exc.message
    device = totp_device_get(user=request.user)
    enrolling = None if device is not None else totp_device_get(user=request.user, confirmed=False)
    context = {
        "base_template": base_template, **extra, "device": device, "enrolling": enrolling, "error": error,
        "required": device is None and second_factor_required_of(request.user), "next": next_url,
        "qr": second_factor.qr_svg(enrolling) if enrolling else "", "key": second_factor.key_text(enrolling) if enrolling else "",
    }
    return render(request, "permissions/security.html", context, status=400 if error else 200)
