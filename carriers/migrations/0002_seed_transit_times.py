"""Seed transit times (days_min–days) the operator then tunes in the super-admin.

Safe to run twice: a row is only created when its route is missing, so an operator's edit is
never overwritten; the reverse removes only seeded routes still holding their seeded values.
"""
from django.db import migrations

# carrier, from, to, days_min, days
SEEDS = [
    ("sf", "CN", "CN", 1, 2),
    ("zto", "CN", "CN", 2, 4),
    ("yto", "CN", "CN", 2, 4),
    ("ems", "CN", "CN", 3, 5),
    ("dhl", "CN", "*", 3, 7),
    ("ups", "CN", "*", 3, 7),
    ("fedex", "CN", "*", 3, 7),
]


def seed(apps, schema_editor):
    TransitTime = apps.get_model("carriers", "TransitTime")
    for carrier, src, dst, low, high in SEEDS:
        TransitTime.objects.get_or_create(carrier=carrier, service="*", from_region=src, to_region=dst,
                                          defaults={"days_min": low, "days": high})


def unseed(apps, schema_editor):
    TransitTime = apps.get_model("carriers", "TransitTime")
    for carrier, src, dst, low, high in SEEDS:
        TransitTime.objects.filter(carrier=carrier, service="*", from_region=src, to_region=dst,
                                   days_min=low, days=high).delete()


class Migration(migrations.Migration):
    dependencies = [("carriers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
