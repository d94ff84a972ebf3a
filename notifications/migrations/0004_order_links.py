"""Order emails link with the order's signed link ({{ order_link }}, accounts.selectors.guest_link_path)
instead of http://{{ mall_host }}/orders/<number>/ (which a guest could not open and which lacked the port).
Rows still holding the previous built-in text get the new one; rows the operator edited keep their text
(their mall_host now carries the port). Kinds without a row are seeded. Safe to run twice."""
from django.db import migrations

OLD_LINK = "http://{{ mall_host }}/orders/{{ number }}/"


def refresh(apps, schema_editor):
    from django.db import connection

    if connection.schema_name != "public":
        return
    from notifications.defaults import DEFAULTS

    Template = apps.get_model("notifications", "NotificationTemplate")
    for (kind, language), new in DEFAULTS.items():
        if "{{ order_link }}" not in new.get("body_text", ""):
            continue
        old = {f: (new.get(f) or "").replace("{{ order_link }}", OLD_LINK) for f in ("subject", "body_text", "body_html", "sms_body")}
        Template.objects.filter(kind=kind, language=language, body_text=old["body_text"]).update(
            body_text=new.get("body_text", ""), body_html=new.get("body_html", "") or "")


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_support_ticket_kinds")]

    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
