"""Settings of the tracking bench's server: Herald's, with the bench URL conf on top.

Only bench/tracking.py uses it (DJANGO_SETTINGS_MODULE=_tracking_settings, bench/ on
PYTHONPATH): the app itself gains no route.
"""

from config.settings import *  # noqa: F403 - Herald's settings, unchanged but for the URL conf

ROOT_URLCONF = "_tracking_urls"
