"""Operators (is_staff) before platform roles had full access: each gets the admin role, so nobody loses
access on deploy. In batches by id; safe to run twice (only users without roles are touched)."""
from django.db import migrations

BATCH = 1000


def forwards(apps, schema_editor):
    User = apps.get_model("permissions", "User")
    last = 0
    while True:
        ids = list(User.objects.filter(is_staff=True, platform_roles=[], pk__gt=last)
                   .order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        User.objects.filter(pk__in=ids).update(platform_roles=["admin"])
        last = ids[-1]


def backwards(apps, schema_editor):
    # The previous release reads only is_staff; the roles column is dropped by 0005's reverse.
    pass


class Migration(migrations.Migration):
    dependencies = [("permissions", "0005_user_platform_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
