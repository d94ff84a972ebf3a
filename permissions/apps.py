from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "permissions"
    label = "permissions"
    verbose_name = "Accounts, roles and API tokens"
