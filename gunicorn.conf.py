"""gunicorn's settings, read from the working directory when Herald is served from the
repository root (`gunicorn config.wsgi`); the command line may add or override any.

Its access and error logs go through config.redact, so a key sent in a URL (refused by
the API, but written to the request line all the same) never reaches a log.
"""

from gunicorn.glogging import Logger

from config.redact import RedactKeys


class KeyRedactingLogger(Logger):
    """gunicorn's logger, with API keys taken out of every access and error line."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactKeys) for f in log.filters):
                log.addFilter(RedactKeys())


logger_class = KeyRedactingLogger
