"""SMS providers behind one protocol; settings.SMS_PROVIDER picks one ("console" for the demo, "aliyun")."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings


class SmsError(Exception):
    """The provider refused or could not be reached; the message is marked failed and the delivery retried."""


@dataclass(frozen=True)
class SmsRequest:
    to: str  # digits, optionally with a leading + and country code
    body: str  # our rendered text (providers with their own approved templates use `params` instead)
    kind: str  # the notification kind (notifications.kinds), for providers that map it to a template code
    params: dict  # the kind's flat string variables
    idempotency_key: str  # stable across retries of one message: OutId at Aliyun


class SmsProvider(Protocol):
    name: str

    def send(self, request: SmsRequest) -> str:
        """Send one SMS; return the provider's id of it. Raise SmsError when it was not accepted."""
        ...


def sms_provider_get(name: str | None = None) -> SmsProvider:
    name = name or settings.SMS_PROVIDER
    if name == "console":
        from notifications.sms.console import ConsoleSmsProvider

        return ConsoleSmsProvider()
    if name == "aliyun":
        from notifications.sms.aliyun import AliyunSmsProvider

        return AliyunSmsProvider.from_settings()
    raise SmsError(f"unknown SMS provider {name!r} (settings.SMS_PROVIDER)")
