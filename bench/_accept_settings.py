"""Settings of the accept-path bench's server: Herald's, with the bench URL conf on top.

Only bench/send_throughput.py uses it (DJANGO_SETTINGS_MODULE=_accept_settings, bench/ on
PYTHONPATH): the app itself gains no route.
"""

from config.settings import *  # noqa: F403 - Herald's settings, unchanged but for the URL conf

ROOT_URLCONF = "_accept_urls"
