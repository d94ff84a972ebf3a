# Orders entered by staff (suborders.models_drafts): drafts and their lines, merchant schemas only.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('suborders', '0003_suborder_list_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OrderDraft',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('confirmed', 'Confirmed'), ('discarded', 'Discarded')], default='draft', max_length=12)),
                ('email', models.CharField(blank=True, default='', max_length=254)),
                ('shipping_address', models.JSONField(blank=True, default=dict)),
                ('shipping_rule_id', models.BigIntegerField(blank=True, null=True)),
                ('currency', models.CharField(default='CNY', max_length=3)),
                ('discount_minor', models.BigIntegerField(default=0)),
                ('discount_reason', models.CharField(blank=True, default='', max_length=300)),
                ('order_id', models.BigIntegerField(blank=True, null=True)),
                ('order_number', models.CharField(blank=True, default='', max_length=32)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('confirmed_at', models.DateTimeField(blank=True, null=True)),
                ('pay_link_sent_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='OrderDraftLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('variant_id', models.BigIntegerField()),
                ('quantity', models.PositiveIntegerField()),
                ('draft', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='suborders.orderdraft')),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.AddIndex(
            model_name='orderdraft',
            index=models.Index(fields=['status', '-id'], name='orderdraft_status_idx'),
        ),
        migrations.AddConstraint(
            model_name='orderdraft',
            constraint=models.CheckConstraint(condition=models.Q(('discount_minor__gte', 0)), name='orderdraft_discount_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='orderdraft',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'confirmed'), _negated=True), ('order_id__isnull', False), _connector='OR'), name='orderdraft_confirmed_has_order'),
        ),
        migrations.AddConstraint(
            model_name='orderdraftline',
            constraint=models.UniqueConstraint(fields=('draft', 'variant_id'), name='orderdraftline_variant_once'),
        ),
        migrations.AddConstraint(
            model_name='orderdraftline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 1)), name='orderdraftline_quantity_positive'),
        ),
    ]
