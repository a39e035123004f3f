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


# With PROMETHEUS_MULTIPROC_DIR set, each worker counts into files there and /metrics
# adds them up (config/metrics.py): empty it when the server starts (figures of an
# earlier run are not this one's), and drop a dead worker's live gauges.
def on_starting(server):
    import os
    import shutil
    from pathlib import Path

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
