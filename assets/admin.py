from django.contrib import admin

from .models import ContentBlock, EmailTemplate, MediaAsset


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "api_id", "updated_at")
    search_fields = ("name", "subject", "api_id")
    readonly_fields = ("api_id", "created_at", "updated_at")
    raw_id_fields = ("created_by",)


@admin.register(ContentBlock)
class ContentBlockAdmin(admin.ModelAdmin):
    list_display = ("name", "state", "api_id", "updated_at")
    list_filter = ("state",)
    search_fields = ("name", "api_id")
    readonly_fields = ("api_id", "created_at", "updated_at")
    raw_id_fields = ("created_by",)


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "size", "api_id", "created_at")
    search_fields = ("name", "api_id")
    readonly_fields = ("api_id", "file", "content_type", "size", "width", "height", "created_at")
    raw_id_fields = ("created_by",)
