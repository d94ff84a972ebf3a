from django.apps import AppConfig


class SubordersConfig(AppConfig):
    name = "suborders"
    label = "suborders"
