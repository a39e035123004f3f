"""Number formats of the results pages."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.1234 → "12.3%"; None (no denominator) → an en dash."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}%"


@register.filter
def signed_percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.1f}%"


@register.filter
def money(value: Decimal | float | None) -> str:
    return f"${Decimal(value or 0):,.2f}"


@register.filter
def thousands(value: int | None) -> str:
    """1234567 → "1,234,567" (humanize's intcomma goes through localization: slower)."""
    return f"{int(value or 0):,}"
