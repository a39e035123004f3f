"""The one table: each domain exception → Braze's status and error text (spec §2.4, §3.1).

Services raise the exceptions (defined by the app that owns the concept) and never speak
HTTP; config/urls.py registers this table with config.api, and the guard answers with it.
A subclass answers as its nearest listed ancestor (InvalidAudience as InvalidSend).
"""

from analytics.errors import UnknownSegment
from assets.errors import (
    ActiveBlockToDraft,
    DuplicateContentBlockName,
    InvalidAsset,
    UnknownContentBlock,
    UnknownEmailTemplate,
    UnknownTags,
)
from campaigns.errors import (
    ArchivedCampaign,
    UnknownCampaign,
    UnknownVariation,
    VariationMismatch,
    VariationUnspecified,
)
from config.api import Answer
from messaging.errors import (
    AndroidPushTooLong,
    ApplePushTooLong,
    IdempotencyKeyReused,
    InvalidSend,
    NoMessage,
    NoRecipients,
    QuotaExceeded,
    TooManyRecipients,
    UnknownApp,
    UnknownEngagementTarget,
    UnknownSchedule,
    UnknownSendId,
    UnknownSubscriptionGroup,
)

ARCHIVED_TEXT = (
    "The campaign is archived. Unarchive the campaign in order for send requests to take effect."
)

BRAZE_ERRORS = {
    # campaigns
    UnknownCampaign: Answer(400, "Invalid Campaign ID"),
    ArchivedCampaign: Answer(400, ARCHIVED_TEXT),
    VariationUnspecified: Answer(400, "Message Variant Unspecified"),
    UnknownVariation: Answer(400, "Invalid Message Variant"),
    VariationMismatch: Answer(400, "Mismatched Message Type"),
    # assets (Herald's texts where Braze documents none: docs/assets.md)
    InvalidAsset: Answer(400, None),  # the one error itself, or "Bad Request"
    UnknownEmailTemplate: Answer(400, "Invalid Email Template ID"),
    UnknownContentBlock: Answer(400, "Invalid Content Block ID"),
    UnknownTags: Answer(400, "Some tags could not be found"),
    DuplicateContentBlockName: Answer(400, "Content Block with this name already exists"),
    ActiveBlockToDraft: Answer(
        400, "Active Content Block can not be updated to Draft. Create a new Content Block."),
    # analytics
    UnknownSegment: Answer(400, "Invalid Segment ID"),
    # messaging: sends
    InvalidSend: Answer(400, "Bad Request"),
    NoMessage: Answer(400, "No message to send"),
    NoRecipients: Answer(400, "No Recipients"),
    TooManyRecipients: Answer(
        400, "The max number of external_ids and aliases per request was exceeded"),
    UnknownSendId: Answer(400, "Invalid Send ID"),
    UnknownApp: Answer(400, "Invalid App ID"),
    UnknownSubscriptionGroup: Answer(400, "Invalid subscription group ID"),
    ApplePushTooLong: Answer(400, "Apple Push Length Exceeded"),
    AndroidPushTooLong: Answer(400, "Android Push Length Exceeded"),
    QuotaExceeded: Answer(429, "Rate Limited"),
    # messaging: scheduled sends (InvalidSchedule, ScheduleNotPending: as InvalidSend)
    UnknownSchedule: Answer(404, "Not Found"),
    # messaging: engagement and idempotency (Herald's own, beyond Braze)
    UnknownEngagementTarget: Answer(400, None),  # the one error itself, or "Bad Request"
    IdempotencyKeyReused: Answer(422, "Idempotency-Key reused with a different request body"),
}
