"""What an operator may do with a model in the super-admin, from the platform role table.

Every ModelAdmin (and inline) of ours mixes in PlatformCapabilityAdmin and names the platform capability
needed to view, add, change and delete; None means nobody, whatever their role (audit rows, the outbox).
"""
from permissions.selectors import platform_can


class PlatformCapabilityAdmin:
    view_capability: str | None = "console.view"
    change_capability: str | None = None
    add_capability: str | None = None
    delete_capability: str | None = None

    @staticmethod
    def _allows(request, capability: str | None) -> bool:
        return capability is not None and platform_can(request.user, capability)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allows(request, self.view_capability) or self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allows(request, self.change_capability)

    def has_add_permission(self, request, *args):  # ModelAdmin: (request); inlines: (request, obj)
        return self._allows(request, self.add_capability)

    def has_delete_permission(self, request, obj=None):
        return self._allows(request, self.delete_capability)
