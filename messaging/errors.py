"""Refusals by messaging's services: sends, send identifiers, reported engagement, retries.

Each carries its per-field detail in `errors`; config/braze_errors.py answers it in Braze's
words. Nothing here knows HTTP.
"""

from config.api import DomainError

# --- sending ------------------------------------------------------------------------------


class InvalidSend(DomainError):
    """A send request breaks a rule that has no error text of its own in Braze."""


class InvalidAudience(InvalidSend):
    """The recipients or the Connected Audience filter cannot be sent to as given."""


class InvalidTemplate(InvalidSend):
    """A Liquid template of a message does not compile."""


class InvalidSendId(InvalidSend):
    """A custom `send_id` is malformed, or given without a campaign."""


class NoMessage(DomainError):
    """The request holds no message object."""


class NoRecipients(DomainError):
    """The request names no recipient, segment or broadcast."""


class TooManyRecipients(DomainError):
    """More external_user_ids and user_aliases than one request may name."""


class UnknownSendId(DomainError):
    """The `send_id` was not created for this campaign."""


class UnknownSubscriptionGroup(DomainError):
    """The `subscription_group_id` names no registered group (of the channel)."""


class UnknownApp(DomainError):
    """The `app_id` names no registered app (of the message's platform)."""


class ApplePushTooLong(DomainError):
    """An Apple push payload is larger than APNs accepts."""


class AndroidPushTooLong(DomainError):
    """An Android or Kindle push's alert and extra are larger than FCM/ADM accept."""


class QuotaExceeded(DomainError):
    """The daily quota of custom send identifiers is used up."""


# --- engagement reported by apps and providers ----------------------------------------------


class UnknownEngagementTarget(DomainError):
    """Reported engagement names a message, content card or user that does not exist."""


# --- idempotent requests --------------------------------------------------------------------


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key comes back within its lifetime with another request body."""


# --- scheduled sends ------------------------------------------------------------------------


class InvalidSchedule(InvalidSend):
    """A schedule's time cannot be used: an offset with local delivery, a time passed."""


class ScheduleNotPending(InvalidSend):
    """The scheduled message was already sent or cancelled: it can no longer change."""


class UnknownSchedule(DomainError):
    """No scheduled message has this `schedule_id`."""
