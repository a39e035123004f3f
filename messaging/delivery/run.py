"""A whole dispatch in this process: planned, then every shard run one after the other.

The workers run a dispatch as one task per shard (messaging.tasks); this is the same
work without a broker (management commands, tests, a redelivered message checking what
is left). Safe to run any number of times, concurrently or after a crash: see
`shards.shard_run`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Dispatch
from .shards import dispatch_plan, shard_run


@dataclass
class RunResult:
    retry_pending: int = 0  # shards left waiting for a retry
    finished: bool = False


def dispatch_run(*, dispatch_pk: int, give_up: bool = False) -> RunResult:
    """Deliver what is left of a dispatch. `give_up`: last attempt, temporary failures are final."""
    plan = dispatch_plan(dispatch_pk=dispatch_pk)
    result = RunResult(finished=plan.finished)
    for shard_pk in plan.shard_pks:
        result.retry_pending += shard_run(shard_pk=shard_pk, give_up=give_up).retry
    dispatch = Dispatch.objects.filter(pk=dispatch_pk).only("status").first()
    result.finished = dispatch is None or dispatch.is_finished
    return result
