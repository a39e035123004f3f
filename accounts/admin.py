from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry, SecurityPolicy


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_name", "ip", "action", "target_type", "target_label")
    list_filter = ("action",)
    search_fields = ("actor_name", "action", "target_label", "target_id")
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    # An audit log nobody can rewrite: no adding, editing or deleting, even for Admins.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(SecurityPolicy)
class SecurityPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "require_two_factor")
