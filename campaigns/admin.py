"""Support console for campaigns: inspect and correct; state changes go through services."""

import uuid

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from . import services
from .models import Campaign, ConversionEvent, MessageVariation, Tag


class MessageVariationInline(admin.TabularInline):
    model = MessageVariation
    extra = 0
    fields = ["channel", "name", "position", "api_id", "created_at"]
    readonly_fields = ["api_id", "created_at"]
    show_change_link = True


class ConversionEventInline(admin.TabularInline):
    model = ConversionEvent
    extra = 0
    max_num = 4
    fields = ["position", "kind", "product_id", "custom_event_name", "window"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "status",
        "api_id",
        "variation_count",
        "created_by",
        "updated_at",
        "last_sent_at",
    ]
    list_filter = ["status", "tags", "created_at", "last_sent_at"]
    search_fields = ["name", "description"]
    list_select_related = ["created_by"]
    filter_horizontal = ["tags"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "api_id",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "first_sent_at",
        "last_sent_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "description", "tags", "status"]}),
        ("Identity and audit", {"fields": readonly_fields}),
    ]
    inlines = [MessageVariationInline, ConversionEventInline]
    actions = ["archive", "unarchive"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).annotate(_variation_count=Count("variations"))

    @admin.display(description="Messages", ordering="_variation_count")
    def variation_count(self, campaign: Campaign) -> int:
        return campaign._variation_count

    def get_search_results(self, request, queryset, search_term):
        # Support looks campaigns up by the campaign_id a customer pastes; the ID is matched
        # only when the term parses as one, so any other text is a plain name search.
        api_id = _parse_uuid(search_term)
        if api_id is not None:
            return queryset.filter(api_id=api_id), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Archive selected campaigns")
    def archive(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            services.campaign_archive(campaign=campaign, by=request.user)

    @admin.action(description="Unarchive selected campaigns")
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset.filter(status=Campaign.Status.ARCHIVED):
            services.campaign_unarchive(campaign=campaign, by=request.user)


@admin.register(MessageVariation)
class MessageVariationAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "campaign", "api_id", "created_at"]
    list_filter = ["channel"]
    search_fields = ["name", "campaign__name"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign"]
    readonly_fields = ["api_id", "created_at"]

    def get_search_results(self, request, queryset, search_term):
        api_id = _parse_uuid(search_term)
        if api_id is not None:
            return queryset.filter(api_id=api_id), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(ConversionEvent)
class ConversionEventAdmin(admin.ModelAdmin):
    list_display = ["campaign", "label", "kind", "product_id", "custom_event_name", "window"]
    list_filter = ["kind"]
    search_fields = ["campaign__name", "custom_event_name", "product_id"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(_campaign_count=Count("campaigns"))

    @admin.display(description="Campaigns", ordering="_campaign_count")
    def campaign_count(self, tag: Tag) -> int:
        return tag._campaign_count


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None
