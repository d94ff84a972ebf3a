"""Product images: uploaded on the catalog page, checked by content and size, resized with Pillow, stored under
the merchant's path through the storage API, shown on the storefront; refused for other stores and roles."""
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import ProductImage
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from storefront.models import ListingProduct


def picture(size=(2400, 1200), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def upload(data: bytes, name="photo.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def product(mall):
    from catalog.services import product_create

    with in_merchant_schema(mall.acme):
        return product_create(name="Pictured Jacket", variants=[{"sku": "PIC-1", "price_minor": 9900}])


@pytest.fixture
def globex_product(mall):
    from catalog.services import product_create

    with in_merchant_schema(mall.globex):
        return product_create(name="Globex Pictured", variants=[{"sku": "GPIC-1", "price_minor": 100}])


def images_of(merchant, product_id):
    with in_merchant_schema(merchant):
        return list(ProductImage.objects.filter(product_id=product_id))


def test_upload_is_resized_thumbnailed_stored_per_merchant_and_reaches_the_storefront(mall, product, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    resp = owner.post(f"/catalog/products/{product.pk}/images/", {"image": upload(picture()), "alt": "red"})
    assert resp.status_code == 302
    [img] = images_of(mall.acme, product.pk)
    assert f'src="/media/{img.thumb_path}"' in owner.get(f"/catalog/products/{product.pk}/").content.decode()
    assert img.path.startswith(f"merchants/acme/products/{product.pk}/") and img.path.endswith(".jpg")
    assert img.thumb_path.startswith(f"merchants/acme/products/{product.pk}/")
    with default_storage.open(img.path) as f:
        full = Image.open(f)
        full.load()
    with default_storage.open(img.thumb_path) as f:
        thumb = Image.open(f)
        thumb.load()
    assert full.format == "JPEG" and max(full.size) == 1600 and (img.width, img.height) == full.size
    assert thumb.format == "JPEG" and max(thumb.size) == 480
    # the outbox handler carries it to the public index; the card and product page show it from our host
    with in_merchant_schema(mall.acme):
        outbox_relay_batch()
    lp = ListingProduct.objects.get(merchant=mall.acme, product_id=product.pk)
    assert lp.images == [{"full": img.path, "thumb": img.thumb_path, "alt": "red"}]
    body = client_at(None).get(f"/products/acme/{product.pk}/").content.decode()
    assert f'src="/media/{img.path}"' in body and "image-placeholder" not in body
    served = client_at(None).get(f"/media/{img.thumb_path}")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert client_at(None).get("/media/merchants/../../etc/passwd").status_code in (400, 404)
    assert client_at(None).get("/media/other/file.jpg").status_code == 404  # only merchants/ is served


def test_a_non_image_is_refused_naming_the_field_and_nothing_is_stored(mall, product, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    # a text file named .png with an image content type: the bytes decide
    resp = owner.post(f"/catalog/products/{product.pk}/images/",
                      {"image": upload(b"<script>alert(1)</script>" * 10, name="evil.png")})
    assert resp.status_code == 400
    body = resp.content.decode()
    assert "Image: This file is not a picture" in body
    assert images_of(mall.acme, product.pk) == []
    resp = owner.post(f"/catalog/products/{product.pk}/images/", {})
    assert resp.status_code == 400 and "Image: Choose an image file" in resp.content.decode()


def test_a_too_big_image_is_refused(mall, product, client_at, settings):
    settings.MALLARD_MAX_IMAGE_BYTES = 1024 * 1024
    owner = client_at(mall.acme, mall.users["acme:owner"])
    noise = Image.frombytes("RGB", (1200, 1200), bytes(range(256)) * (1200 * 1200 * 3 // 256))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    assert len(out.getvalue()) > 1024 * 1024
    resp = owner.post(f"/catalog/products/{product.pk}/images/", {"image": upload(out.getvalue())})
    assert resp.status_code == 400 and "Image: Image is too large: at most 1 MB." in resp.content.decode()
    assert images_of(mall.acme, product.pk) == []


def test_another_merchants_staff_get_404_for_a_real_acme_product(mall, product, client_at):
    globex_owner = client_at(mall.globex, mall.users["globex:owner"])
    resp = globex_owner.post(f"/catalog/products/{product.pk}/images/", {"image": upload(picture((50, 50)))})
    assert resp.status_code == 404
    # and on acme's host a globex user is not a member: refused before any view runs
    resp = client_at(mall.acme, mall.users["globex:owner"]).post(
        f"/catalog/products/{product.pk}/images/", {"image": upload(picture((50, 50)))})
    assert resp.status_code in (302, 403, 404)
    assert images_of(mall.acme, product.pk) == []


@pytest.mark.parametrize("role", ["warehouse", "finance", "customer_service"])
def test_roles_without_catalog_edit_are_refused(mall, product, client_at, role):
    from permissions.roles import CAPABILITIES

    assert role not in CAPABILITIES["catalog.edit"]
    resp = client_at(mall.acme, mall.users[f"acme:{role}"]).post(
        f"/catalog/products/{product.pk}/images/", {"image": upload(picture((50, 50)))})
    assert resp.status_code == 403
    assert images_of(mall.acme, product.pk) == []


def test_specifications_are_parsed_and_a_bad_line_is_named(mall, product, client_at):
    owner = client_at(mall.acme, mall.users["acme:owner"])
    resp = owner.post(f"/catalog/products/{product.pk}/specifications/", {"specifications": "Material: Nylon\n重量：1.2 kg"})
    assert resp.status_code == 302
    with in_merchant_schema(mall.acme):
        from catalog.models import Product

        assert Product.objects.get(pk=product.pk).specifications == [["Material", "Nylon"], ["重量", "1.2 kg"]]
    resp = owner.post(f"/catalog/products/{product.pk}/specifications/", {"specifications": "no colon here"})
    assert resp.status_code == 400 and "Specifications: Line 1" in resp.content.decode()


def test_demo_pictures_are_drawn_locally():
    from catalog.demo import demo_image

    img = Image.open(io.BytesIO(demo_image("Rain Jacket", seed="x")))
    assert img.format == "JPEG" and img.size == (360, 360)
