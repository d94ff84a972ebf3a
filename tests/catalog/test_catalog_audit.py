"""Catalog and stock writes by a person: the service itself checks the role matrix, and each write
leaves exactly one audit row with the changed fields (price before → after, on-hand before → after)."""
import pytest

from catalog.models import Variant
from catalog.services import product_update, stock_adjust, variant_update, warehouse_update
from core.errors import PermissionDenied
from core.tenancy import in_merchant_schema
from permissions.models import AuditEntry
from tests.catalog.conftest import uniq


def _rows(floor, **filters):
    return list(AuditEntry.objects.filter(id__gt=floor, **filters).order_by("id"))


def _floor():
    return max(AuditEntry.objects.values_list("id", flat=True), default=0)


def test_a_price_change_through_the_api_leaves_one_row_with_the_old_and_new_price(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:manager"])
    sku = uniq("AUD")
    body = api.post("/api/v1/catalog/products/", {"name": "Audit tee", "variants": [{"sku": sku, "price": "99.00"}]},
                    format="json").json()
    floor = _floor()
    resp = api.patch(f"/api/v1/catalog/products/{body['id']}/", {"variants": [{"id": body["variants"][0]["id"], "price": "89.50"}]},
                     format="json")
    assert resp.status_code == 200
    [row] = _rows(floor, schema_name=mall.acme.schema_name)
    assert (row.entity, row.entity_id, row.action, row.actor, row.role) == (
        "product", str(body["id"]), "update", mall.users["acme:manager"], "manager")
    assert row.via.startswith("token:mlt_") and len(row.via) == len("token:") + 12
    assert row.before == {f"variants[{sku}]": {"price_minor": 9900}} and row.after == {f"variants[{sku}]": {"price_minor": 8950}}


def test_a_stock_adjustment_leaves_one_row_with_on_hand_before_and_after(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=10)
        floor = _floor()
        stock_adjust(variant_id=v.pk, warehouse_id=w.pk, delta=-3, reason="damaged", actor=mall.users["acme:warehouse"])
    [row] = _rows(floor)
    key = f"{v.pk}:{w.pk}"
    assert (row.entity, row.entity_id, row.action, row.role) == ("stock", key, "adjustment", "warehouse")
    assert row.before == {"on_hand": {key: 10}} and row.after == {"on_hand": {key: 7}, "reason": "damaged"}


@pytest.mark.parametrize("role", ["finance", "customer_service", "warehouse"])
def test_the_services_refuse_catalog_edits_by_roles_without_them(mall, make_stock, role):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=4)
        floor = _floor()
        with pytest.raises(PermissionDenied):
            variant_update(variant_id=v.pk, price_minor=1, actor=mall.users[f"acme:{role}"])
        with pytest.raises(PermissionDenied):
            product_update(product_id=v.product_id, name="Hijacked", actor=mall.users[f"acme:{role}"])
        with pytest.raises(PermissionDenied):
            warehouse_update(warehouse_id=w.pk, name="Hijacked", actor=mall.users[f"acme:{role}"])
        assert Variant.objects.get(pk=v.pk).price_minor == 1999
    assert _rows(floor) == []


@pytest.mark.parametrize("role", ["finance", "customer_service"])
def test_the_stock_services_refuse_roles_that_never_touch_stock(mall, make_stock, role):
    with in_merchant_schema(mall.acme):
        (v,), (w,) = make_stock(qty=4)
        floor = _floor()
        with pytest.raises(PermissionDenied):
            stock_adjust(variant_id=v.pk, warehouse_id=w.pk, delta=5, reason="found", actor=mall.users[f"acme:{role}"])
    assert _rows(floor) == []


def test_a_user_of_another_store_is_refused_by_the_service(mall, make_stock):
    with in_merchant_schema(mall.acme):
        (v,), _w = make_stock(qty=1)
        with pytest.raises(PermissionDenied):
            variant_update(variant_id=v.pk, price_minor=1, actor=mall.users["globex:owner"])
