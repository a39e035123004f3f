"""Refusals by the assets services; config/braze_errors.py answers them in Braze's words."""

from config.api import DomainError


class InvalidAsset(DomainError):
    """A template, content block or upload breaks a rule (the error's own text answers)."""


class UnknownEmailTemplate(DomainError):
    """No email template has this `email_template_id`."""


class UnknownContentBlock(DomainError):
    """No content block has this `content_block_id` (or, in a message, this active name)."""


class UnknownTags(DomainError):
    """A tag named is not one of the workspace's tags (Braze: tags must already exist)."""


class DuplicateContentBlockName(DomainError):
    """Another content block already has this name."""


class ActiveBlockToDraft(DomainError):
    """An active content block cannot go back to draft."""
