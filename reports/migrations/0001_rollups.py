# Sales rollups (reports/rollup_models.py); the exports and forecast tables have their own migration.
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name='MerchantDayRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('currency', models.CharField(max_length=3)),
                ('orders', models.BigIntegerField(default=0)),
                ('units', models.BigIntegerField(default=0)),
                ('gmv_minor', models.BigIntegerField(default=0)),
                ('commission_minor', models.BigIntegerField(default=0)),
                ('refunds_minor', models.BigIntegerField(default=0)),
                ('refund_count', models.BigIntegerField(default=0)),
                ('cancellations', models.BigIntegerField(default=0)),
                ('accept_seconds', models.BigIntegerField(default=0)),
                ('accept_count', models.BigIntegerField(default=0)),
                ('ship_seconds', models.BigIntegerField(default=0)),
                ('ship_count', models.BigIntegerField(default=0)),
                ('late_count', models.BigIntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['day'], name='reports_day_day')],
                'constraints': [models.UniqueConstraint(fields=('merchant_id', 'day', 'currency'), name='reports_day_uniq')],
            },
        ),
        migrations.CreateModel(
            name='MerchantHourRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('hour', models.SmallIntegerField()),
                ('currency', models.CharField(max_length=3)),
                ('orders', models.BigIntegerField(default=0)),
                ('gmv_minor', models.BigIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant_id', 'day', 'hour', 'currency'), name='reports_hour_uniq')],
            },
        ),
        migrations.CreateModel(
            name='MerchantProductDayRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('variant_id', models.BigIntegerField()),
                ('currency', models.CharField(max_length=3)),
                ('sku', models.CharField(default='', max_length=64)),
                ('name', models.CharField(default='', max_length=300)),
                ('orders', models.BigIntegerField(default=0)),
                ('units', models.BigIntegerField(default=0)),
                ('gmv_minor', models.BigIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant_id', 'day', 'variant_id', 'currency'), name='reports_product_uniq')],
            },
        ),
        migrations.CreateModel(
            name='MerchantRegionRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('province', models.CharField(max_length=60)),
                ('currency', models.CharField(max_length=3)),
                ('orders', models.BigIntegerField(default=0)),
                ('units', models.BigIntegerField(default=0)),
                ('gmv_minor', models.BigIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant_id', 'day', 'province', 'currency'), name='reports_region_uniq')],
            },
        ),
        migrations.CreateModel(
            name='MerchantValueBandRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('band', models.SmallIntegerField()),
                ('currency', models.CharField(max_length=3)),
                ('orders', models.BigIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant_id', 'day', 'band', 'currency'), name='reports_band_uniq')],
            },
        ),
        migrations.CreateModel(
            name='SuborderFact',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merchant_id', models.BigIntegerField()),
                ('suborder_id', models.BigIntegerField()),
                ('fact', models.JSONField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant_id', 'suborder_id'), name='reports_fact_uniq')],
            },
        ),
    ]
