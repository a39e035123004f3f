"""Refusals about campaigns and their message variations, raised by any app's services.

Each carries its per-field detail in `errors`; config/braze_errors.py answers it in Braze's
words. Nothing here knows HTTP.
"""

from config.api import DomainError


class UnknownCampaign(DomainError):
    """No campaign has this `campaign_id`."""


class ArchivedCampaign(DomainError):
    """The campaign is archived: nothing is sent or created under it until unarchived."""


class VariationUnspecified(DomainError):
    """A message object under a campaign names no `message_variation_id`."""


class UnknownVariation(DomainError):
    """The `message_variation_id` is not a message of this campaign."""


class VariationMismatch(DomainError):
    """The variation is a message of another channel than the object it is given in."""
