"""Shopper account pages on the mall host: sign-up and email verification, the account page (email,
language, password, guest orders to claim), the address book with China's cascading selects, password
reset (Django's views with our templates), and the guest order lookup and signed order links."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import regions, selectors, services
from core.errors import DomainError, NotFound

SESSION_GUEST_ORDERS = "guest_orders"  # the same key as orders.views: {order number: email}
LOOKUP_LIMIT = 10  # guest lookups per client address (and per order number) in LOOKUP_WINDOW seconds
LOOKUP_WINDOW = 15 * 60


def _base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _remember_guest_order(request, number: str, email: str) -> None:
    remembered = request.session.get(SESSION_GUEST_ORDERS) or {}
    remembered.pop(number, None)
    remembered[number] = email
    request.session[SESSION_GUEST_ORDERS] = dict(list(remembered.items())[-20:])


# ---------------------------------------------------------------- sign-up, verification, account

def sign_up(request):
    if request.user.is_authenticated:
        return redirect("account")
    error_field, error, values = None, None, {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("email", "full_name", "language")}
        if request.POST.get("password", "") != request.POST.get("password2", ""):
            error_field, error = "password2", _("The two passwords differ.")
        else:
            try:
                # "Same as this page": the language the shopper is reading the sign-up page in
                language = values["language"] or (getattr(request, "LANGUAGE_CODE", "") or "").lower()
                user = services.shopper_sign_up(email=values["email"], password=request.POST.get("password", ""),
                                                full_name=values["full_name"],
                                                language=language if language in services.LANGUAGES else "",
                                                base_url=_base_url(request))
            except DomainError as err:
                error_field, error = err.field, err.message
            else:
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome! We sent a link to %(email)s: open it to verify your email.")
                                 % {"email": user.email})
                return redirect("account")
    return render(request, "accounts/signup.html", {"error": error, "error_field": error_field, "values": values,
                                                    "languages": services.LANGUAGES},
                  status=400 if error else 200)


def verify(request, token: str):
    try:
        user = services.email_verify(token=token)
    except DomainError as err:
        return render(request, "error.html", {"title": _("Link not valid"), "message": err.message}, status=400)
    if request.user.is_authenticated and request.user.pk == user.pk:
        request.user.email, request.user.email_verified_at = user.email, user.email_verified_at
    messages.success(request, _("Your email %(email)s is verified.") % {"email": user.email})
    return redirect("account" if request.user.is_authenticated else "login")


@login_required
@require_POST
def verify_resend(request):
    if request.user.email_verified_at is None:
        key = f"accounts:resend:{request.user.pk}"
        if cache.add(key, 1, 60):  # one email a minute at most
            services.verification_send(user=request.user, base_url=_base_url(request))
        messages.success(request, _("We sent the link again to %(email)s.") % {"email": request.user.email})
    return redirect("account")


@login_required
def account(request):
    error, error_field = None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "language":
                services.language_set(user=request.user, language=request.POST.get("language", ""))
                messages.success(request, _("Saved: your emails come in this language."))
            elif action == "email":
                new = services.email_change_request(user=request.user, new_email=request.POST.get("email", ""),
                                                    password=request.POST.get("password", ""), base_url=_base_url(request))
                messages.success(request, _("We sent a link to %(email)s. Your email changes when you open it.")
                                 % {"email": new})
            elif action == "claim":
                numbers = services.guest_orders_claim(user=request.user)
                messages.success(request, _("%(n)s order(s) added to your account.") % {"n": len(numbers)})
            return redirect("account")
        except DomainError as err:
            error, error_field = err.message, err.field
    return render(request, "accounts/account.html", {
        "error": error, "error_field": error_field, "languages": services.LANGUAGES,
        "claimable": selectors.guest_orders_claimable(user=request.user),
        "addresses": selectors.addresses_for_user(user=request.user),
    }, status=400 if error else 200)


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "accounts/password_form.html"
    success_url = reverse_lazy("account")
    extra_context = {"title": gettext_lazy("Change password")}

    def form_valid(self, form):
        messages.success(self.request, _("Your password is changed."))
        return super().form_valid(form)


class PasswordReset(auth_views.PasswordResetView):
    """Django's reset: the same answer whether or not the email has an account."""

    template_name = "accounts/password_form.html"
    email_template_name = "accounts/email/reset_body.txt"
    subject_template_name = "accounts/email/reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")
    extra_context = {"title": gettext_lazy("Reset your password"), "intro": gettext_lazy(
        "Type the email of your account: we send a link to choose a new password.")}


class PasswordResetDone(auth_views.PasswordResetDoneView):
    template_name = "accounts/message.html"
    extra_context = {"title": gettext_lazy("Check your email"), "message": gettext_lazy(
        "If an account uses this email, a link to choose a new password is on its way. It works for 3 days, once.")}


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_form.html"
    success_url = reverse_lazy("password-reset-complete")
    extra_context = {"title": gettext_lazy("Choose a new password")}


class PasswordResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "accounts/message.html"
    extra_context = {"title": gettext_lazy("Password changed"), "message": gettext_lazy(
        "Your password is changed. Sign in with it now."), "sign_in": True}


# ---------------------------------------------------------------- address book

def _address_form_context(request, values: dict, address=None, error=None, error_field=None) -> dict:
    country = (values.get("country") or "CN").upper()
    province = regions.cn_province(values.get("region", "")) if country == "CN" else None
    cities = regions.cn_children(province.code) if province else ()
    city = next((c for c in cities if c.name == values.get("city")), None)
    districts = regions.cn_children(city.code) if city else ()
    return {
        "values": values, "address": address, "error": error, "error_field": error_field,
        "countries": [(code, rule) for code, rule in regions.COUNTRIES.items()], "country": country,
        "rule": regions.COUNTRIES.get(country), "provinces": regions.cn_children(""),
        "province_code": province.code if province else "", "cities": cities, "districts": districts,
    }


@login_required
def addresses(request):
    return render(request, "accounts/addresses.html", {"addresses": selectors.addresses_for_user(user=request.user)})


@login_required
def address_form(request, address_id: int | None = None):
    address = None
    if address_id is not None:
        try:
            address = selectors.address_get_for_user(user=request.user, address_id=address_id)
        except NotFound:
            raise Http404(_("No such address.")) from None
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in services.ADDRESS_INPUT}
        if values.get("country", "").upper() == "CN":  # the selects post GB/T codes: keep what the shopper chose
            values["region"] = request.POST.get("province", "") or values["region"]
        try:
            services.address_save(user=request.user, data=values, address_id=address.pk if address else None,
                                  make_default=request.POST.get("is_default") == "on")
        except DomainError as err:
            ctx = _address_form_context(request, values, address, err.message, err.field)
            return render(request, "accounts/address_form.html", ctx, status=400)
        messages.success(request, _("Address saved."))
        target = request.POST.get("next", "")
        return redirect(target if target == reverse("checkout") else "addresses")
    values = ({k: getattr(address, k) for k in services.ADDRESS_INPUT} | {"is_default": address.is_default}
              if address else {"country": request.GET.get("country", "CN")})
    return render(request, "accounts/address_form.html", _address_form_context(request, values, address))


@login_required
@require_POST
def address_action(request, address_id: int, action: str):
    if action not in ("delete", "default"):
        raise Http404(_("No such page."))
    try:
        if action == "delete":
            services.address_delete(user=request.user, address_id=address_id)
            messages.success(request, _("Address removed."))
        else:
            services.address_make_default(user=request.user, address_id=address_id)
            messages.success(request, _("Default address changed."))
    except NotFound:
        raise Http404(_("No such address.")) from None
    return redirect("addresses")


def divisions(request):
    """The children of a GB/T 2260 code (none: the provinces), for the cascading selects: [[code, name], ...]."""
    parent = request.GET.get("parent", "")
    if parent and (len(parent) not in (2, 4) or not parent.isascii() or not parent.isdigit()):
        return JsonResponse({"code": "invalid", "field": "parent", "message": _("Unknown division.")}, status=400)
    rows = [[d.code, d.name] for d in regions.cn_children(parent)]
    resp = JsonResponse({"parent": parent, "divisions": rows})
    resp["Cache-Control"] = "public, max-age=86400"
    return resp


# ---------------------------------------------------------------- guest orders

def _lookup_allowed(request, number: str) -> bool:
    """At most LOOKUP_LIMIT tries per client address and per order number in the window (a cache counter)."""
    from permissions.lockout import client_ip

    keys = [f"accounts:lookup:ip:{client_ip(request)}", f"accounts:lookup:order:{number[:40]}"]
    allowed = True
    for key in keys:
        cache.add(key, 0, LOOKUP_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, LOOKUP_WINDOW)
            count = 1
        allowed = allowed and count <= LOOKUP_LIMIT
    return allowed


def guest_lookup(request):
    """Order number + email: opens a guest order's page. A wrong email, an unknown number and an order of
    an account get the same answer, so the form tells nobody which orders exist."""
    from orders.models import Order

    error, status = None, 200
    number = email = ""
    if request.method == "POST":
        number = request.POST.get("number", "").strip()[:40]
        email = request.POST.get("email", "").strip().lower()[:254]
        if not _lookup_allowed(request, number):
            error, status = _("Too many tries. Wait a quarter of an hour, or use the link in your order email."), 429
        else:
            order = Order.objects.filter(number=number, shopper__isnull=True, email=email).first() if number and email else None
            if order is not None:
                _remember_guest_order(request, order.number, order.email)
                return redirect("order-detail", number=order.number)
            error, status = _("We found no order with this number and email. Check both (they are in your order "
                              "email); an order placed while signed in is under My orders once you sign in."), 400
    return render(request, "accounts/guest_lookup.html", {"error": error, "number": number, "email": email},
                  status=status)


def guest_order_link(request, token: str):
    """The signed link in every order email: opens the order without an account."""
    found = selectors.guest_link_read(token)
    if found is None:
        raise Http404(_("This link is not valid (any more)."))
    number, email = found
    if request.user.is_authenticated:
        from orders.models import Order

        if Order.objects.filter(number=number, shopper=request.user).exists():
            return redirect("order-detail", number=number)
    _remember_guest_order(request, number, email)
    return redirect("order-detail", number=number)
