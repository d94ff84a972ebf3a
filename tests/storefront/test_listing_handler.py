"""The catalog.listing_changed handler keeps the public index equal to the merchants' catalogs."""
from django.core.management import call_command

from catalog.services import product_create, product_update, stock_receive, variant_update, warehouse_create
from core.models import OutboxEvent
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from storefront.handlers import listing_changed
from storefront.models import ListingEntry


def entries(merchant):
    return {e.sku: (e.name, e.price_minor, e.available, e.stock_state, e.category)
            for e in ListingEntry.objects.filter(merchant=merchant)}


def test_relay_upserts_then_updates_then_removes(mall):
    with in_merchant_schema(mall.acme):
        wh = warehouse_create(code="HX1", name="Main")
        product = product_create(name="Handler Tent", variants=[
            {"sku": "HT-1", "price_minor": 50000, "currency": "CNY", "options": {"size": "2P"}, "low_stock_threshold": 3},
            {"sku": "HT-2", "price_minor": 60000, "currency": "CNY", "options": {"size": "3P"}, "low_stock_threshold": 3}])
        v1, v2 = product.variants.order_by("id")
    outbox_relay_batch()
    assert entries(mall.acme) == {"HT-1": ("Handler Tent 2P", 50000, 0, "out", ""),
                                  "HT-2": ("Handler Tent 3P", 60000, 0, "out", "")}
    assert set(ListingEntry.objects.filter(merchant=mall.acme).values_list("store_name", flat=True)) == {"Acme Outfitters"}
    with in_merchant_schema(mall.acme):
        stock_receive(variant_id=v1.pk, warehouse_id=wh.pk, quantity=10, reason="test")
        stock_receive(variant_id=v2.pk, warehouse_id=wh.pk, quantity=2, reason="test")
        variant_update(variant_id=v1.pk, price_minor=45000)
    outbox_relay_batch()
    assert entries(mall.acme) == {"HT-1": ("Handler Tent 2P", 45000, 10, "in_stock", ""),
                                  "HT-2": ("Handler Tent 3P", 60000, 2, "low", "")}
    with in_merchant_schema(mall.acme):
        product_update(product_id=product.pk, status="draft")
    outbox_relay_batch()
    assert entries(mall.acme) == {}
    assert not OutboxEvent.objects.filter(topic="catalog.listing_changed", status="pending").exists()


def test_same_event_twice_and_out_of_order_end_in_current_state(mall):
    with in_merchant_schema(mall.acme):
        wh = warehouse_create(code="HX2", name="Main")
        product = product_create(name="Twice Stove", variants=[{"sku": "TS-1", "price_minor": 1000, "currency": "CNY"}])
        v = product.variants.get()
        first = OutboxEvent.objects.filter(topic="catalog.listing_changed", schema_name="m_acme").latest("id")
        stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=20, reason="test")
        second = OutboxEvent.objects.filter(topic="catalog.listing_changed", schema_name="m_acme").latest("id")
        assert second.pk != first.pk
        # deliver the newer event, then the older one, then the newer one again
        listing_changed(second)
        listing_changed(first)
        listing_changed(second)
    assert entries(mall.acme) == {"TS-1": ("Twice Stove", 1000, 20, "in_stock", "")}
    assert ListingEntry.objects.filter(merchant=mall.acme, sku="TS-1").count() == 1


def test_rebuild_command_restores_the_index(mall):
    with in_merchant_schema(mall.acme):
        product_create(name="Rebuilt Lamp", variants=[{"sku": "RL-1", "price_minor": 2000, "currency": "CNY"}])
    # the event is never relayed; a stale row of a variant that no longer exists is in the index
    ListingEntry.objects.create(merchant=mall.acme, variant_id=987654321, product_id=1, sku="GONE", name="Gone",
                                store_name="Acme Outfitters", price_minor=1, currency="CNY")
    call_command("listing_rebuild", schema="m_acme")
    skus = set(ListingEntry.objects.filter(merchant=mall.acme).values_list("sku", flat=True))
    assert "RL-1" in skus and "GONE" not in skus
