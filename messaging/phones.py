"""Phone numbers as profiles store and match them.

Braze recommends E.164 (`+33612345678`). Herald removes only what is obviously layout —
spaces, dashes, dots, parentheses — so `+33 6 12 34 56 78` and `+33612345678` name the same
profile. It never guesses a country code: `06 12 34 56 78` becomes `0612345678`, not
`+33612345678`, since the country is not known (a full library such as libphonenumber
would need one, and a dependency).
"""

from __future__ import annotations

import re

# Whitespace (incl. no-break spaces), ASCII and Unicode dashes/hyphens, minus sign, dots,
# parentheses: what people and spreadsheets put between digit groups.
_LAYOUT = re.compile(r"[\s\-\u2010-\u2015\u2212.()]")


def phone_normalize(value: str) -> str:
    """`value` without layout characters; a leading `+` is kept, nothing is added."""
    return _LAYOUT.sub("", value)
