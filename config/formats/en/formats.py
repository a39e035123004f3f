"""Herald's one date style, e.g. "28 Nov 2026, 19:08" and "28 Nov 2026".

Django ≥ 5 always localizes, so the English locale's "Nov. 28, 2026, 7:02 p.m." wins over
settings.DATETIME_FORMAT; FORMAT_MODULE_PATH puts this module ahead of it. Only display
formats are set here: input formats stay Django's.
"""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
