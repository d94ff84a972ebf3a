"""Notification tables (public schema): the operator's templates, each store's branding of its shopper
emails, shoppers' preferences, and the log of every message sent."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from notifications.kinds import CHANNELS, KINDS, LANGUAGES

KIND_CHOICES = [(k.key, k.label) for k in KINDS.values()]
LANGUAGE_CHOICES = [(code, code) for code in LANGUAGES]
CHANNEL_CHOICES = [(c, c) for c in CHANNELS]


class NotificationTemplate(models.Model):
    """One notification kind in one language: the email's subject, text body and optional HTML body, and
    the SMS body. Checked by notifications.rendering.template_check before every save."""

    kind = models.CharField(max_length=40, choices=KIND_CHOICES)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, default="")
    sms_body = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="notif_template_kind_language_uniq")]
        ordering = ["kind", "language"]

    def __str__(self):
        return f"{self.kind} [{self.language}]"


class StoreBranding(models.Model):
    """A store's look in its own shoppers' emails: display name, small logo (PNG/JPEG bytes, checked at
    upload, sent as an inline attachment: no outside URL), footer text."""

    merchant = models.OneToOneField("tenants.Merchant", on_delete=models.CASCADE, related_name="notification_branding")
    display_name = models.CharField(max_length=120, blank=True, default="")
    footer_text = models.TextField(blank=True, default="")
    logo = models.BinaryField(blank=True, null=True)
    logo_content_type = models.CharField(max_length=20, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    def __str__(self):
        return f"branding of merchant {self.merchant_id}"


class NotificationProfile(models.Model):
    """A shopper's notification settings: phone for SMS, language of messages, and per kind the channels
    wanted (`channels`: kind -> list of channels; a kind not listed gets email only)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_profile")
    phone = models.CharField(max_length=20, blank=True, default="")
    language = models.CharField(max_length=10, blank=True, default="")  # '' = the account's language
    channels = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"notification profile of user {self.user_id}"


class Message(models.Model):
    """One message to one recipient on one channel for one outbox event: written before the send,
    marked sent after it. UNIQUE (event, recipient, channel) makes a re-run find it instead of sending
    twice; a row still queued after a crash is re-sent with the same Message-ID / SMS OutId."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    event_id = models.BigIntegerField()  # core.OutboxEvent id; no foreign key: delivered events are swept
    topic = models.CharField(max_length=80)
    delivery_key = models.CharField(max_length=200)
    recipient = models.CharField(max_length=254)
    channel = models.CharField(max_length=10, choices=CHANNEL_CHOICES)
    kind = models.CharField(max_length=40, choices=KIND_CHOICES)
    language = models.CharField(max_length=10)
    merchant_id = models.BigIntegerField(null=True, blank=True)  # the store whose branding applied
    subject = models.CharField(max_length=250, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    provider_id = models.CharField(max_length=250, blank=True, default="")  # Message-ID or the SMS provider's id
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_id", "recipient", "channel"],
                                               name="notif_message_once_per_event_recipient_channel")]
        indexes = [models.Index(fields=["-created_at"], name="notif_message_created_idx"),
                   models.Index(fields=["status", "-created_at"], name="notif_message_status_idx")]
        ordering = ["-id"]

    def __str__(self):
        return f"{self.channel} to {self.recipient} ({self.kind}, event {self.event_id})"
