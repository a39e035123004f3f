"""Staff console for messaging records (never the marketer's UI).

Public IDs and timestamps are read-only; secrets (key digests, provider credentials)
are never shown. State changes that have a service go through it.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import (
    ApiKey,
    App,
    ChannelConfig,
    ContentCard,
    Delivery,
    DeprecatedExternalId,
    Dispatch,
    DispatchShard,
    EmailSubscriptionState,
    EmailSuppression,
    IdempotencyRecord,
    Profile,
    PushToken,
    ScheduledMessage,
    SdkKey,
    SendIdentifier,
    SubscriptionGroup,
    UserAlias,
    UserExport,
)
from .services.api_keys import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "prefix")
    # Keys are created in the dashboard or with `manage.py create_api_key` (the full key
    # is shown once there); the digest is never displayed.
    fields = ("name", "prefix", "permissions", "allowed_networks", "created_by", "created_at",
              "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "permissions", "allowed_networks", "created_by", "created_at",
                       "last_used_at", "revoked_at")
    list_select_related = ("created_by",)
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key, by=request.user)


@admin.register(SubscriptionGroup)
class SubscriptionGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "group_id", "created_at")
    list_filter = ("channel",)
    search_fields = ("name", "group_id")
    readonly_fields = ("group_id", "created_at")


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ("name", "platform", "api_id", "created_at")
    list_filter = ("platform",)
    search_fields = ("name", "api_id")
    readonly_fields = ("api_id", "created_at")


@admin.register(ChannelConfig)
class ChannelConfigAdmin(admin.ModelAdmin):
    list_display = ("app", "channel", "provider", "updated_at")
    list_filter = ("channel", "provider")
    search_fields = ("app__name", "public_id")
    list_select_related = ("app",)
    exclude = ("credentials_encrypted",)
    # Stored secrets only follow the same provider at the same address: the dashboard asks
    # for them again when either changes, so they cannot be sent to another server. The
    # admin has no such check, so here both are read-only once saved (credentials are
    # never shown or editable).
    readonly_fields = ("public_id", "base_url", "created_at", "updated_at")
    raw_id_fields = ("app",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: ChannelConfig | None = None
    ) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("provider",) if obj is not None else fields


class UserAliasInline(admin.TabularInline):
    model = UserAlias
    extra = 0
    readonly_fields = ("created_at",)


class PushTokenInline(admin.TabularInline):
    model = PushToken
    extra = 0
    readonly_fields = ("created_at",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("__str__", "external_id", "email", "phone", "email_subscribe",
                    "in_global_control_group", "created_at")
    list_filter = ("in_global_control_group", "email_subscribe", "push_subscribe", "created_at")
    search_fields = ("external_id", "braze_id", "email", "phone", "aliases__alias_name")
    readonly_fields = ("braze_id", "created_at", "updated_at")
    inlines = (UserAliasInline, PushTokenInline)


@admin.register(UserAlias)
class UserAliasAdmin(admin.ModelAdmin):
    list_display = ("alias_label", "alias_name", "profile", "created_at")
    list_filter = ("alias_label",)
    search_fields = ("alias_name", "alias_label", "profile__external_id", "profile__braze_id")
    list_select_related = ("profile",)
    raw_id_fields = ("profile",)
    readonly_fields = ("created_at",)


@admin.register(PushToken)
class PushTokenAdmin(admin.ModelAdmin):
    list_display = ("app_id", "short_token", "device_id", "profile", "created_at",
                    "invalidated_at")
    list_filter = ("app_id", ("invalidated_at", admin.EmptyFieldListFilter))
    search_fields = ("token", "device_id", "profile__external_id", "profile__braze_id")
    list_select_related = ("profile",)
    raw_id_fields = ("profile",)
    readonly_fields = ("created_at",)

    @admin.display(description="token")
    def short_token(self, token: PushToken) -> str:
        return token.token[:24] + ("…" if len(token.token) > 24 else "")


@admin.register(EmailSubscriptionState)
class EmailSubscriptionStateAdmin(admin.ModelAdmin):
    list_display = ("email", "state", "updated_at")
    list_filter = ("state",)
    search_fields = ("email",)
    readonly_fields = ("updated_at",)


@admin.register(SendIdentifier)
class SendIdentifierAdmin(admin.ModelAdmin):
    list_display = ("send_id", "campaign", "created_at")
    search_fields = ("send_id", "campaign__name", "campaign__api_id")
    list_select_related = ("campaign",)
    raw_id_fields = ("campaign",)
    readonly_fields = ("created_at",)


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    list_display = ("dispatch_id", "campaign", "status", "recipients_resolved",
                    "delivered_count", "failed_count", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("dispatch_id", "send_id", "campaign__name", "campaign__api_id")
    list_select_related = ("campaign", "api_key")
    raw_id_fields = ("campaign", "api_key")
    readonly_fields = ("dispatch_id", "created_at", "started_at", "finished_at")


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(admin.ModelAdmin):
    list_display = ("schedule_id", "kind", "campaign", "status", "send_at", "in_local_time",
                    "created_at")
    list_filter = ("status", "kind", "in_local_time")
    search_fields = ("schedule_id", "dispatch_id", "campaign__name")
    list_select_related = ("campaign",)
    raw_id_fields = ("campaign", "api_key", "cancelled_by")
    readonly_fields = ("schedule_id", "dispatch_id", "created_at", "updated_at", "fired_at",
                       "cancelled_at")


@admin.register(DispatchShard)
class DispatchShardAdmin(admin.ModelAdmin):
    list_display = ("dispatch", "index", "pk_from", "pk_to", "status", "attempts",
                    "heartbeat_at", "enqueued_at")
    list_filter = ("status",)
    search_fields = ("dispatch__dispatch_id",)
    list_select_related = ("dispatch",)
    raw_id_fields = ("dispatch",)
    readonly_fields = ("created_at", "finished_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("message_id", "channel", "status", "profile", "campaign", "provider",
                    "attempts", "created_at")
    list_filter = ("status", "channel", "provider", "created_at")
    search_fields = ("message_id", "address", "send_id", "dispatch__dispatch_id",
                     "profile__external_id", "profile__braze_id")
    list_select_related = ("profile", "campaign", "dispatch")
    raw_id_fields = ("dispatch", "profile", "campaign", "variation")
    readonly_fields = ("message_id", "created_at", "updated_at", "sent_at")


@admin.register(ContentCard)
class ContentCardAdmin(admin.ModelAdmin):
    list_display = ("card_id", "title", "profile", "campaign", "pinned", "created_at",
                    "expires_at")
    list_filter = ("pinned", "type", "created_at")
    search_fields = ("card_id", "title", "profile__external_id", "profile__braze_id")
    list_select_related = ("profile", "campaign")
    raw_id_fields = ("delivery", "profile", "campaign", "variation")
    readonly_fields = ("card_id", "created_at", "viewed_at", "clicked_at", "dismissed_at")


@admin.register(SdkKey)
class SdkKeyAdmin(admin.ModelAdmin):
    """The web SDK's public keys; change origins and rotate in Settings › Apps (audited)."""

    list_display = ("app", "key", "created_at", "rotated_at")
    search_fields = ("key", "app__name")
    list_select_related = ("app",)
    readonly_fields = ("app", "key", "allowed_origins", "created_at", "rotated_at")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("key", "api_key", "response_status", "created_at")
    search_fields = ("key",)
    list_select_related = ("api_key",)
    raw_id_fields = ("api_key",)
    readonly_fields = ("created_at",)


@admin.register(DeprecatedExternalId)
class DeprecatedExternalIdAdmin(admin.ModelAdmin):
    list_display = ("external_id", "profile", "created_at")
    search_fields = ("external_id", "profile__external_id")
    list_select_related = ("profile",)
    raw_id_fields = ("profile",)
    readonly_fields = ("created_at",)


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "reason", "source", "recorded_at")
    list_filter = ("reason",)
    search_fields = ("email",)


@admin.register(UserExport)
class UserExportAdmin(admin.ModelAdmin):
    list_display = ("object_prefix", "kind", "segment_id", "status", "users", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("object_prefix", "segment_id")
    readonly_fields = ("object_prefix", "created_at", "completed_at")
