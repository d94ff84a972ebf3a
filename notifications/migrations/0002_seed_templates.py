"""Seed the built-in text of every notification (notifications.defaults) where no row exists. Safe to run
twice; the reverse leaves the rows (they may have been edited by the operator)."""
from django.db import migrations


def seed(apps, schema_editor):
    from django.db import connection

    if connection.schema_name != "public":  # a shared app's data lives in public only
        return
    from notifications.defaults import default_for
    from notifications.kinds import KINDS, LANGUAGES

    Template = apps.get_model("notifications", "NotificationTemplate")
    for kind in KINDS:
        for language in LANGUAGES:
            Template.objects.get_or_create(kind=kind, language=language, defaults=default_for(kind, language))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
