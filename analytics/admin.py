"""Support console for analytics rows (never the marketer's UI)."""

from django.contrib import admin

from .models import ActivityRollup, Conversion, DailyRollup, EngagementEvent, Segment


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "channel", "campaign", "variation", "send_id", "occurred_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["dedupe_key", "send_id"]
    list_select_related = ["campaign", "variation"]
    raw_id_fields = ["campaign", "variation", "dispatch", "delivery", "profile"]
    readonly_fields = ["dedupe_key"]


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    list_display = ["campaign", "variation", "send_id", "day", "sent", "delivered",
                    "unique_opens", "unique_clicks", "conversions"]
    list_select_related = ["campaign", "variation"]
    raw_id_fields = ["campaign", "variation"]
    date_hierarchy = "day"


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin):
    list_display = ["campaign", "position", "variation", "channel", "send_id", "converted_at"]
    list_select_related = ["campaign", "variation"]
    raw_id_fields = ["campaign", "conversion_event", "variation", "profile"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "segment_id", "size", "source", "behavior", "created_at"]
    search_fields = ["name", "segment_id"]
    raw_id_fields = ["source_campaign", "source_variation", "created_by"]
    readonly_fields = ["segment_id", "size", "created_at", "updated_at"]


@admin.register(ActivityRollup)
class ActivityRollupAdmin(admin.ModelAdmin):
    list_display = ("day", "kind", "app_id", "name", "count", "quantity", "revenue")
    list_filter = ("kind",)
    search_fields = ("name", "app_id")
