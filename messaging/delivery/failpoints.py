"""Failpoints for fault tests, read once from the environment; inert when unset.

HERALD_FAILPOINT_KILL_AFTER_ATTEMPTS=N: once this process has handed N deliveries to
their adapters (the receivers got them), it SIGKILLs its whole process group before
recording any outcome, as a crash or the OOM killer would. Only meant for a worker
started in its own session (tests/messaging/delivery/test_faults.py does): the group is
the worker's main process and its children.
"""

from __future__ import annotations

import os
import signal

_KILL_AFTER = int(os.environ.get("HERALD_FAILPOINT_KILL_AFTER_ATTEMPTS") or 0)
_started = 0


def attempts_sent(count: int) -> None:
    global _started
    if not _KILL_AFTER:
        return
    _started += count
    if _started >= _KILL_AFTER:
        os.killpg(os.getpgrp(), signal.SIGKILL)
