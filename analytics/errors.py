"""Refusals about what analytics owns (segments), raised by any app's services.

config/braze_errors.py answers each in Braze's words. Nothing here knows HTTP.
"""

from config.api import DomainError


class UnknownSegment(DomainError):
    """No segment has this `segment_id`."""
