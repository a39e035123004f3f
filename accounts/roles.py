"""The four roles of a Braze workspace, as Django groups with model permissions.

A role is a group; what it may do is the group's permissions, so Django's admin and every
dashboard view ask the same question (`user.has_perm("campaigns.change_campaign")`).
This matrix is the one home of what each role holds: the data migration creates the groups
from it and `roles_grant` (run after every migrate) adds what a new model brings.
"""

from __future__ import annotations

from collections.abc import Iterable

ADMIN = "Admin"
DEVELOPER = "Developer"
MARKETER = "Marketer"
VIEWER = "Viewer"
ROLES = (ADMIN, DEVELOPER, MARKETER, VIEWER)

DESCRIPTIONS = {
    ADMIN: "Everything, including people, API keys, provider credentials and the audit log.",
    DEVELOPER: "API keys, apps, channels and providers; reads campaigns and results.",
    MARKETER: "Creates and edits campaigns, reads results, builds segments. "
              "No API keys, no credentials.",
    VIEWER: "Reads campaigns, sends, profiles and results; changes nothing.",
}

_READ = [
    "campaigns.view_campaign",
    "campaigns.view_messagevariation",
    "campaigns.view_conversionevent",
    "campaigns.view_tag",
    "analytics.view_segment",
    "messaging.view_profile",
    "messaging.view_dispatch",
    "messaging.view_delivery",
    "messaging.view_app",
    "assets.view_emailtemplate",
    "assets.view_contentblock",
    "assets.view_mediaasset",
    "messaging.view_subscriptiongroup",
    "messaging.view_scheduledmessage",
]

# Admin is not listed: it holds every permission there is (ADMIN_ALL).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _READ,
    MARKETER: _READ + [
        "campaigns.add_campaign",
        "campaigns.change_campaign",
        "campaigns.add_messagevariation",
        "campaigns.change_messagevariation",
        "campaigns.delete_messagevariation",
        "campaigns.add_conversionevent",
        "campaigns.change_conversionevent",
        "campaigns.delete_conversionevent",
        "campaigns.add_tag",
        "analytics.add_segment",
        "analytics.change_segment",
        # The global control group is a marketer's tool (a profile's page, one switch).
        "messaging.change_profile",
        # Stopping a send that is going wrong (the dispatch page's Cancel).
        "messaging.change_dispatch",
        # Templates & Media: the copy and images developers send by ID.
        "assets.add_emailtemplate",
        "assets.change_emailtemplate",
        "assets.add_contentblock",
        "assets.change_contentblock",
        "assets.add_mediaasset",
        "assets.delete_mediaasset",
        # Moving or cancelling a scheduled message (a campaign's Scheduled tab).
        "messaging.change_scheduledmessage",
    ],
    DEVELOPER: _READ + [
        "messaging.view_apikey",
        "messaging.add_apikey",
        "messaging.change_apikey",
        "messaging.add_app",
        "messaging.change_app",
        "messaging.view_channelconfig",
        "messaging.add_channelconfig",
        "messaging.change_channelconfig",
        "messaging.add_subscriptiongroup",
        "messaging.change_subscriptiongroup",
        # Cancelling a running send.
        "messaging.change_dispatch",
        "messaging.change_scheduledmessage",
    ],
}


def _split(names: Iterable[str]) -> list[tuple[str, str]]:
    return [tuple(name.split(".", 1)) for name in names]  # type: ignore[misc]


def roles_grant(*, group_model, permission_model) -> None:  # type: ignore[no-untyped-def]
    """Create the role groups and give each its permissions (adds, never removes).

    Takes the model classes so the data migration can pass its historical ones.
    """
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        if role == ADMIN:
            wanted = permission_model.objects.all()
        else:
            pairs = _split(ROLE_PERMISSIONS[role])
            wanted = [
                permission
                for permission in permission_model.objects.select_related("content_type")
                if (permission.content_type.app_label, permission.codename) in pairs
            ]
        group.permissions.add(*wanted)
