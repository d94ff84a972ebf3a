"""The demo catalog: hundreds of variants, stock through the journal, idempotent and fast."""
import time

from catalog.demo import seed_catalog
from catalog.models import Product, StockLevel, StockMovement, Variant, Warehouse
from catalog.selectors import stock_availability
from catalog.services import stock_journal_check
from core.tenancy import in_merchant_schema


def test_seed_catalog_is_fast_idempotent_and_journalled(mall):
    started = time.perf_counter()
    seed_catalog([mall.acme, mall.globex])
    elapsed = time.perf_counter() - started
    assert elapsed < 14, elapsed  # two of the three demo merchants; the whole demo must stay under 20 s
    totals = 0
    for merchant, prefix in ((mall.acme, "AC-"), (mall.globex, "GL-")):
        with in_merchant_schema(merchant):
            variants = Variant.objects.filter(sku__startswith=prefix)
            assert Product.objects.filter(variants__in=variants).distinct().count() == 110
            totals += variants.count()
            whs = Warehouse.objects.filter(code__startswith=merchant.slug.upper())
            assert len({(w.region, w.priority) for w in whs}) == 2
            avail = stock_availability(variant_ids=list(variants.values_list("id", flat=True)))
            sums = [sum(s.available for s in v) for v in avail.values()]
            assert sums.count(0) >= 3 and any(0 < s <= 5 for s in sums)
            assert StockMovement.objects.filter(variant__in=variants, kind="receipt").count() == StockLevel.objects.filter(variant__in=variants).count()
            assert stock_journal_check() == []
            assert Variant.objects.filter(name_suffix__gt="", sku__startswith=prefix).exists()
            counts = (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count())
        seed_catalog([merchant])  # again: nothing new
        with in_merchant_schema(merchant):
            assert (Product.objects.count(), Variant.objects.count(), StockMovement.objects.count()) == counts
    assert totals >= 200
