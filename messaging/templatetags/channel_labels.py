from django import template

from campaigns.models import Channel

register = template.Library()


@register.filter
def channel_labels(keys) -> str:
    """Message object keys as the dashboard names them: "Email, SMS/MMS, Content Cards"."""
    return ", ".join(Channel(key).label if key in Channel.values else key for key in keys)
