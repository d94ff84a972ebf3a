"""Who entered a tracking event by hand or from a file (fulfillment.tracking_entry); nullable, so the
previous release keeps inserting carrier events while this runs."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("fulfillment", "0002_shipment_shipmentline_trackingevent_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="trackingevent",
            name="recorded_by_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
