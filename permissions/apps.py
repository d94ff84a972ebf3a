from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "permissions"
    label = "permissions"
    verbose_name = "Accounts, roles and API tokens"

    def ready(self):
        from permissions import auth_events  # noqa: F401  (connects the sign-in audit receivers)
