from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    label = "catalog"

    def ready(self):
        from catalog import handlers  # noqa: F401  registers outbox handlers
