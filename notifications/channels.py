"""The email channel: Django's email backend, a stable Message-ID, and the store's branding (footer in the
text; logo as an inline attachment of the HTML part, never an outside URL)."""
from __future__ import annotations

from email.mime.image import MIMEImage
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape, linebreaks

from notifications.rendering import Rendered

LOGO_CID = "store-logo"


def message_id_header(stable_id: str) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or settings.MALL_HOST
    return f"<{stable_id}@{domain}>"


def email_compose(*, to: str, rendered: Rendered, branding, message_id: str) -> EmailMultiAlternatives:
    footer = (branding.footer_text if branding is not None else "").strip()
    text = rendered.body_text.rstrip("\n") + (f"\n\n-- \n{footer}\n" if footer else "\n")
    msg = EmailMultiAlternatives(subject=rendered.subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
                                 headers={"Message-ID": message_id_header(message_id)})
    logo = bytes(branding.logo) if branding is not None and branding.logo else b""
    if rendered.body_html or logo:
        html = rendered.body_html or linebreaks(escape(rendered.body_text))
        head = f'<p><img src="cid:{LOGO_CID}" alt="{escape(branding.display_name or "")}" style="max-height:64px"></p>' if logo else ""
        tail = f'<hr><div class="store-footer">{linebreaks(escape(footer))}</div>' if footer else ""
        msg.attach_alternative(f"{head}{html}{tail}", "text/html")
        if logo:
            image = MIMEImage(logo, _subtype=branding.logo_content_type.partition("/")[2] or "png")
            image.add_header("Content-ID", f"<{LOGO_CID}>")
            image.add_header("Content-Disposition", "inline", filename=f"logo.{image.get_content_subtype()}")
            msg.attach(image)
            msg.mixed_subtype = "related"
    return msg


def email_send(*, to: str, rendered: Rendered, branding, message_id: str) -> str:
    """Send one email; returns its Message-ID header."""
    msg = email_compose(to=to, rendered=rendered, branding=branding, message_id=message_id)
    msg.send(fail_silently=False)
    return msg.extra_headers["Message-ID"]
