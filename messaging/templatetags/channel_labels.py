from django import template

from campaigns.models import Channel

register = template.Library()


@register.filter
def channel_labels(keys) -> str:
    """Message object keys as the dashboard names them, sorted: "Content Cards, Email, iOS".

    Sorted because PostgreSQL's jsonb does not keep the request's key order.
    """
    return ", ".join(sorted(Channel(key).label if key in Channel.values else key for key in keys))
