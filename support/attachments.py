"""Ticket attachments: an image (PNG, JPEG, GIF, WebP) or a PDF, recognised by its content (never by the
name or the declared type), decoded by Pillow for images, at most MAX_BYTES each and MAX_PER_MESSAGE a message."""
from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from support.errors import BAD_ATTACHMENT

MAX_BYTES = 2 * 1024 * 1024
MAX_PER_MESSAGE = 5
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"GIF87a", "image/gif", "GIF"),
    (b"GIF89a", "image/gif", "GIF"),
)


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _clean_name(name: str, fallback: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return (base or fallback)[:120]


def attachment_check(*, filename: str, data: bytes, field: str) -> CheckedFile:
    if not isinstance(data, bytes | bytearray) or not data:
        raise ValidationFailed(_("The file is empty."), field=field, code=BAD_ATTACHMENT)
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("A file may be at most %(mb)s MB.") % {"mb": MAX_BYTES // (1024 * 1024)}, field=field,
                               code=BAD_ATTACHMENT)
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise ValidationFailed(_("The PDF is damaged or incomplete."), field=field, code=BAD_ATTACHMENT)
        return CheckedFile(_clean_name(filename, "document.pdf"), "application/pdf", data)
    kind = next(((ct, fmt) for magic, ct, fmt in _IMAGES if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = ("image/webp", "WEBP")
    if kind is None:
        raise ValidationFailed(_("Attach an image (PNG, JPEG, GIF, WebP) or a PDF."), field=field, code=BAD_ATTACHMENT)
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != kind[1]:
                raise ValueError(img.format)
            img.verify()
    except Exception:
        raise ValidationFailed(_("The image cannot be read."), field=field, code=BAD_ATTACHMENT) from None
    return CheckedFile(_clean_name(filename, "image"), kind[0], data)


def attachments_check(files: list[tuple[str, bytes]], *, field: str = "attachments") -> list[CheckedFile]:
    if len(files) > MAX_PER_MESSAGE:
        raise ValidationFailed(_("At most %(n)s files per message.") % {"n": MAX_PER_MESSAGE}, field=field,
                               code=BAD_ATTACHMENT)
    return [attachment_check(filename=name, data=data, field=f"{field}[{i}]") for i, (name, data) in enumerate(files)]
