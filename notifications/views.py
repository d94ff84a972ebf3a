"""Notification pages: the operator's templates (edit with preview) and message log on the console, a
store's email branding on its dashboard, and a shopper's preferences on the mall host."""
from __future__ import annotations

import base64

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.tenancy import assert_public_schema, current_merchant
from notifications import selectors, services
from notifications.kinds import CHANNELS, KINDS, LANGUAGES, SHOPPER_KINDS
from notifications.models import CHANNEL_CHOICES, KIND_CHOICES, Message
from notifications.rendering import FIELDS
from permissions.decorators import require_capability, require_platform_capability

# --- console (mall host) ----------------------------------------------------------------------------


@require_platform_capability("notifications.edit")
def console_templates(request):
    assert_public_schema()
    return render(request, "notifications/console_templates.html", {"kinds": selectors.templates_overview()})


@require_platform_capability("notifications.edit")
def console_template_edit(request, kind: str, language: str):
    """Edit one (kind, language): "preview" renders the text on the kind's sample data without saving,
    "save" checks and saves (a broken template is refused with its error), "reset" restores the default."""
    assert_public_schema()
    if kind not in KINDS or language not in LANGUAGES:
        raise Http404("No such notification.")
    fields = selectors.template_fields(kind, language)
    preview, error, status = None, None, 200
    if request.method == "POST":
        action = request.POST.get("action", "preview")
        fields = {f: request.POST.get(f, "")[:25_000] for f in FIELDS}
        try:
            if action == "save":
                services.template_update(actor=request.user, kind=kind, language=language, fields=fields)
                messages.success(request, _("Template saved."))
                return redirect("console-notification-template", kind, language)
            if action == "reset":
                services.template_reset(actor=request.user, kind=kind, language=language)
                messages.success(request, _("The built-in text is back."))
                return redirect("console-notification-template", kind, language)
            preview = services.template_preview(kind=kind, language=language, fields=fields)
        except DomainError as err:
            error, status = err, 400
    else:
        try:
            preview = services.template_preview(kind=kind, language=language, fields=fields)
        except DomainError as err:
            error = err
    return render(request, "notifications/console_template_edit.html", {
        "spec": KINDS[kind], "language": language, "fields": fields, "preview": preview, "error": error,
        "languages": LANGUAGES}, status=status)


@require_platform_capability("notifications.view")
def console_messages(request):
    """Every message sent, newest first, with filters (status, channel, kind, event, merchant, recipient)."""
    from core.inputs import is_ascii_digits

    assert_public_schema()
    f = {k: (request.GET.get(k) or "").strip()[:120] for k in selectors.MESSAGE_FILTERS}
    for k in ("event", "merchant"):
        if f[k] and not is_ascii_digits(f[k]):
            messages.error(request, _("%(field)s must be a whole number.") % {"field": k})
            f[k] = ""
    return render(request, "notifications/console_messages.html", {
        "messages_log": selectors.messages_list_for_operator(**f), "f": f, "statuses": Message.Status.choices,
        "channels": CHANNEL_CHOICES, "kinds": KIND_CHOICES})


# --- the store's branding (merchant host) -------------------------------------------------------------

@require_capability("branding.edit")
def store_branding(request):
    merchant = current_merchant()
    branding = selectors.branding_for_merchant(merchant.pk)
    error, status = None, 200
    if request.method == "POST":
        upload = request.FILES.get("logo")
        try:
            logo = None
            if upload is not None:
                if upload.size > services.MAX_LOGO_BYTES:
                    from core.errors import ValidationFailed

                    raise ValidationFailed(_("The logo must be at most %(kb)s KB.") % {"kb": services.MAX_LOGO_BYTES // 1024},
                                           field="logo")
                logo = upload.read()
            services.branding_update(actor=request.user, merchant=merchant,
                                     display_name=request.POST.get("display_name", ""),
                                     footer_text=request.POST.get("footer_text", ""), logo=logo,
                                     remove_logo=request.POST.get("remove_logo") == "on")
            messages.success(request, _("Email branding saved."))
            return redirect("store-branding")
        except DomainError as err:
            error, status = err, 400
    logo_data = ""
    if branding is not None and branding.logo:
        logo_data = f"data:{branding.logo_content_type};base64,{base64.b64encode(bytes(branding.logo)).decode()}"
    from django.utils.translation import get_language

    return render(request, "notifications/store_branding.html", {
        "merchant": merchant, "branding": branding, "logo_data": logo_data, "error": error,
        "form": request.POST if error else None,
        "preview": selectors.branding_preview(merchant=merchant, branding=branding, language=get_language())},
        status=status)


# --- the shopper's preferences (mall host) ------------------------------------------------------------

@login_required
def account_notifications(request):
    profile = selectors.profile_for_user(request.user)
    error, status = None, 200
    if request.method == "POST":
        try:
            channels = {k.key: [c for c in request.POST.getlist(f"ch_{k.key}")[:4]] for k in SHOPPER_KINDS}
            services.preferences_update(user=request.user, language=request.POST.get("language", "")[:10],
                                        phone=request.POST.get("phone", ""), channels=channels)
            messages.success(request, _("Notification preferences saved."))
            return redirect("account-notifications")
        except DomainError as err:
            error, status = err, 400
    rows = [{"kind": k, "channels": selectors.channels_for(profile, k.key)} for k in SHOPPER_KINDS]
    return render(request, "notifications/account_notifications.html", {
        "profile": profile, "rows": rows, "channels": CHANNELS, "languages": LANGUAGES, "error": error}, status=status)
