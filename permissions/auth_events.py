"""Sign-ins, sign-outs and failed sign-ins land in the audit trail of the host's schema.

These are Django's own authentication signals (framework events, not domain flow), the one place
where every way of signing in (pages, admin) is seen.
"""
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from permissions.audit import audit_record


@receiver(user_logged_in, dispatch_uid="mallard-audit-login")
def _login(sender, request, user, **kwargs):
    audit_record(actor=user, entity="user", entity_id=user.pk, action="login", after={"email": user.email})


@receiver(user_logged_out, dispatch_uid="mallard-audit-logout")
def _logout(sender, request, user, **kwargs):
    if user is not None and getattr(user, "pk", None):
        audit_record(actor=user, entity="user", entity_id=user.pk, action="logout")


@receiver(user_login_failed, dispatch_uid="mallard-audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    after = {"email": email}
    if credentials.get("step") == "code":  # the password was right, the second factor's code was not
        after["step"] = "code"
    audit_record(actor=None, entity="user", entity_id=email or "-", action="login_failed", after=after)
