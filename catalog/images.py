"""Product images and specifications (merchant schema): the write services behind the catalog page's
upload form, and the Pillow work (content check, resize, thumbnail).

Files go through Django's default storage (settings.STORAGES["default"]) under
`merchants/<slug>/products/<product id>/<random>.<ext>`, so an object-storage backend can replace the
disk without touching this code; the database keeps storage names only, never URLs.
"""
from __future__ import annotations

import io
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Product, ProductImage
from catalog.services import _authorize, _emit_listing_changed, _text
from core.errors import NotFound, ValidationFailed
from core.tenancy import current_merchant, merchant_only

# What we accept, decided from the bytes (Pillow's own detection), never from the name or Content-Type.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
MAX_PIXELS = 40_000_000  # a 6000x6000 photo; refuses decompression bombs before decoding
FULL_SIZE = 1600
THUMB_SIZE = 480
MAX_IMAGES = 12
MAX_SPECS = 40


def max_image_bytes() -> int:
    return int(getattr(settings, "MALLARD_MAX_IMAGE_BYTES", 5 * 1024 * 1024))


def image_dir(*, merchant_slug: str, product_id: int) -> str:
    return f"merchants/{merchant_slug}/products/{int(product_id)}"


def _open_checked(data: bytes, *, field: str):
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_image_bytes():
        raise ValidationFailed(
            _("%(field)s is too large: at most %(mb)s MB.") % {"field": _("Image"), "mb": max_image_bytes() // (1024 * 1024)},
            field=field)
    if not data:
        raise ValidationFailed(_("Choose an image file to upload."), field=field)
    try:
        img = Image.open(io.BytesIO(data))
        fmt = img.format
        if fmt not in ALLOWED_FORMATS:
            raise ValidationFailed(_("The image must be a JPEG, PNG, WebP or GIF picture."), field=field)
        if img.width * img.height > MAX_PIXELS:
            raise ValidationFailed(_("The image is too large in pixels (at most 40 megapixels)."), field=field)
        img.verify()  # structure check; verify() leaves the object unusable, so reopen
        img = Image.open(io.BytesIO(data))
        img.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(_("This file is not a picture we can read (JPEG, PNG, WebP or GIF)."), field=field) from None
    return img, fmt


def _encode(img, *, box: int) -> tuple[bytes, int, int]:
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        img = background
    elif img.mode == "L":
        img = img.convert("RGB")
    img.thumbnail((box, box), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue(), img.width, img.height


def render_image_files(data: bytes, *, field: str = "image") -> tuple[bytes, bytes, int, int]:
    """Check `data` is a picture and return (full JPEG, thumbnail JPEG, full width, full height).

    Every stored image is re-encoded by Pillow: nothing the uploader sent (EXIF, scripts in SVG-like
    payloads, polyglots) reaches the storage as is."""
    img, _fmt = _open_checked(data, field=field)
    if max(img.size) <= THUMB_SIZE:  # small already: one encoding serves as both
        full, w, h = _encode(img, box=THUMB_SIZE)
        return full, full, w, h
    full, w, h = _encode(img.copy(), box=FULL_SIZE)
    thumb, _tw, _th = _encode(img, box=THUMB_SIZE)
    return full, thumb, w, h


@merchant_only
def product_image_add(*, product_id: int, data: bytes, alt: str = "", actor=None, field: str = "image") -> ProductImage:
    """Validate, resize and store one picture of a product; the storefront index is refreshed via the outbox."""
    _authorize(actor, "catalog.edit")
    alt = _text(alt, field="alt", max_length=200)
    full, thumb, w, h = render_image_files(data, field=field)
    merchant = current_merchant()
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise NotFound(_("No product %(id)s.") % {"id": product_id}, field="product_id")
        count = product.images.count()
        if count >= MAX_IMAGES:
            raise ValidationFailed(_("A product has at most %(n)s images.") % {"n": MAX_IMAGES}, field=field)
        base = f"{image_dir(merchant_slug=merchant.slug, product_id=product.pk)}/{secrets.token_hex(8)}"
        path = default_storage.save(f"{base}.jpg", ContentFile(full))
        thumb_path = default_storage.save(f"{base}_thumb.jpg", ContentFile(thumb))
        try:
            image = ProductImage.objects.create(product=product, path=path, thumb_path=thumb_path, width=w, height=h,
                                                position=count, alt=alt)
            _emit_listing_changed(product.variants.values_list("id", flat=True))
        except Exception:  # the row is not written: leave no orphan files behind
            default_storage.delete(path)
            default_storage.delete(thumb_path)
            raise
    return image


@merchant_only
def product_image_delete(*, product_id: int, image_id: int, actor=None) -> None:
    _authorize(actor, "catalog.edit")
    with transaction.atomic():
        image = ProductImage.objects.select_for_update().filter(pk=image_id, product_id=product_id).first()
        if image is None:
            raise NotFound(_("No image %(id)s.") % {"id": image_id}, field="image_id")
        paths = [image.path, image.thumb_path]
        image.delete()
        _emit_listing_changed(Product.objects.get(pk=product_id).variants.values_list("id", flat=True))
        transaction.on_commit(lambda: [default_storage.delete(p) for p in paths])


def parse_specifications(text: str, *, field: str = "specifications") -> list[list[str]]:
    """"Material: nylon" lines -> [["Material", "nylon"], ...]; a line without a colon is refused, naming it."""
    specs: list[list[str]] = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        label, sep, value = line.partition(":")
        if not sep:
            label, sep, value = line.partition("：")  # full-width colon, as typed in Chinese
        if not sep or not label.strip() or not value.strip():
            raise ValidationFailed(_("Line %(n)s: write each specification as “Label: value”.") % {"n": n}, field=field)
        specs.append([_text(label.strip(), field=field, max_length=80), _text(value.strip(), field=field, max_length=300)])
    if len(specs) > MAX_SPECS:
        raise ValidationFailed(_("At most %(n)s specifications.") % {"n": MAX_SPECS}, field=field)
    return specs


def specifications_text(specs) -> str:
    return "\n".join(f"{k}: {v}" for k, v in (specs or []))


@merchant_only
def product_specifications_set(*, product_id: int, specifications: list[list[str]], actor=None) -> None:
    _authorize(actor, "catalog.edit")
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise NotFound(_("No product %(id)s.") % {"id": product_id}, field="product_id")
        if product.specifications != specifications:
            product.specifications = specifications
            product.save(update_fields=["specifications"])
            _emit_listing_changed(product.variants.values_list("id", flat=True))
