"""The flagged parcels as one index range: open parcels (not delivered, not returned) by the moment they
started to need a look (fulfillment.models.needs_look_since), with their suborder id, so the flagged
parcels page and the suborder list's `flagged` filter read only the flagged parcels' index entries.

Built CONCURRENTLY (a large merchant keeps shipping while it builds), hence not atomic; a build
interrupted half way leaves an INVALID index, which `manage.py migrate` cannot see: drop it by hand
(DROP INDEX CONCURRENTLY shipment_needs_look_idx) and migrate again. New merchant schemas are cloned
from the template schema with it."""
import datetime

import django.db.models.functions.comparison
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("fulfillment", "0003_trackingevent_recorded_by_id"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="shipment",
            index=models.Index(
                models.Case(models.When(status="exception",
                                        then=models.Value(datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC))),
                            default=django.db.models.functions.comparison.Coalesce("last_event_at", "shipped_at"),
                            output_field=models.DateTimeField()),
                models.F("suborder_id"),
                condition=models.Q(("delivered_at__isnull", True),
                                   models.Q(("status__in", ("delivered", "returned")), _negated=True)),
                name="shipment_needs_look_idx"),
        ),
    ]
