"""Fill the product rows from the variant rows already in the index (deployments made before 0003).

Prices, stock and store come from the variant rows; description, specifications, images and sales
arrive with the next sync of each product (or `manage.py listing_rebuild`). Safe to run twice
(ON CONFLICT DO NOTHING); the reverse empties nothing it did not add (the table is new in 0003).
"""
from django.db import migrations

FORWARD = """
INSERT INTO storefront_listingproduct
    (merchant_id, product_id, name, description, specifications, store_name, category, min_price_minor,
     max_price_minor, currency, variant_count, available, stock_state, in_stock, images, image_url, sold_count,
     listed_at, updated_at)
SELECT e.merchant_id, e.product_id,
       (ARRAY_AGG(e.name ORDER BY e.price_minor, e.id))[1], '', '[]'::jsonb, MAX(e.store_name),
       (ARRAY_AGG(e.category ORDER BY e.price_minor, e.id))[1], MIN(e.price_minor), MAX(e.price_minor),
       (ARRAY_AGG(e.currency ORDER BY e.price_minor, e.id))[1], COUNT(*), SUM(e.available),
       CASE WHEN BOOL_OR(e.stock_state = 'in_stock') THEN 'in_stock'
            WHEN BOOL_OR(e.stock_state = 'low') THEN 'low' ELSE 'out' END,
       BOOL_OR(e.stock_state <> 'out'), '[]'::jsonb, '', 0,
       MIN(e.updated_at), NOW()
FROM storefront_listingentry e
WHERE e.is_listed
GROUP BY e.merchant_id, e.product_id
ON CONFLICT (merchant_id, product_id) DO NOTHING
"""


class Migration(migrations.Migration):
    dependencies = [("storefront", "0003_listing_product")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop)]
