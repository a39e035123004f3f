"""A broadcast end to end: POST /messages/send with "broadcast": true, to every delivery
row recorded, with 1 and then 2 Celery workers, beside a raw COPY of as many rows.

What it starts (all on 127.0.0.1, all stopped at the end, even on failure):
- a fresh PostgreSQL database (`BENCH_BROADCAST_DATABASE_URL`, default
  `postgres://postgres@127.0.0.1:5432/herald_bench_broadcast`), migrated, with a campaign
  (SMS and webhook variations), an API key and `--profiles` profiles inserted in one
  INSERT … SELECT (each with a phone, so SMS has an address);
- Redis (`BENCH_BROADCAST_REDIS_URL`, default `redis://127.0.0.1:6379/5`, flushed before,
  between phases and after) as Celery broker and for the workers' task records;
- Herald under gunicorn (`DEBUG=0`), and per phase fresh `celery -A _bench_worker worker
  -c 1` processes (Herald's Celery app plus a per-task record, bench/_bench_worker.py);
- a counting HTTP/1.1 keep-alive sink (tests/fakes/sink.py) that the webhooks go to
  (`WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8` lets the SSRF guard through to the loopback).

Phases, in this order: SMS on the sandbox (no provider configured, so the sandbox adapter
records the payload) with 1 worker to `--profiles` × `--small` recipients (only those are
inserted yet: the RSS reference), then to all `--profiles` with 1 and with 2 workers; then
webhooks to the sink with 1 and 2 workers. Each phase: a warm-up send (not timed; its row
is the template of the COPY baseline), a raw COPY of as many rows as the phase will create
into a scratch table shaped like the delivery table (indexes included), the broadcast,
and another COPY — A B A, so machine load hits both. During the broadcast a single-
recipient send (transactional) goes out every `--transactional-every` s.

Printed per phase: deliveries/s from the 201 to the last row in a final status (the
latest `updated_at`); delivery rows written per second of writing them (the workers'
time inserting rows with their events and counters, timed by bench/_bench_worker.py:
one stream, as the COPY is) and its ratio to the median of the two COPYs, beside rows
per second of rendering and writing them, and rows over the broadcast's wall clock (201
→ the latest `created_at`, the sends in between); tasks per worker and
per 1,000 recipients (from the workers' own records, so whatever the engine's tasks
are), peak RSS of each worker process tree (sampled twice a second), the transactional
sends' p95 from 201 to delivered, and the load average. A phase that passes
`--timeout` s is cut (workers killed) and its rates are partial, marked so. Targets
(issue): ≥ 3,472 deliveries/s on the sandbox, creation ≥ 0.25× COPY, RSS at --small
within 50 MiB of the full audience, transactional p95 ≤ 2 s.

    .venv/bin/python bench/broadcast.py [--profiles 200000] [--small 0.1]
        [--channels sandbox,webhook] [--workers 1,2] [--timeout 600]

A full run (200,000 profiles, both channels, 1 and 2 workers) takes about 10 minutes here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import _harness as harness

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
DATABASE_URL = os.environ.get(
    "BENCH_BROADCAST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench_broadcast"
)
REDIS_URL = os.environ.get("BENCH_BROADCAST_REDIS_URL", "redis://127.0.0.1:6379/5")
CHANNELS = {"sandbox": "sms", "webhook": "webhook"}
COPY_TABLE = "bench_copy_delivery"
# Upper bound of waiting for the transactional sends still queued when a broadcast ends.
TRANSACTIONAL_GRACE_SECONDS = 30


@dataclass
class Phase:
    label: str  # "sandbox" or "webhook"
    workers: int
    recipients: int
    finished: bool = False
    rows: int = 0
    recorded: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    delivered_per_s: float = float("nan")
    created_per_s: float = float("nan")  # wall clock: 201 → the latest created_at
    render_seconds: float = 0.0  # workers' time in rows_render, summed
    write_seconds: float = 0.0  # workers' time in rows_create (insert, events, commit)
    rows_created: int = 0

    @property
    def writing_per_s(self) -> float:
        """Rows per second of writing them: one worker's stream, as the COPY is one."""
        return self.rows_created / self.write_seconds if self.write_seconds else float("nan")

    @property
    def creating_per_s(self) -> float:
        """Rows per second of rendering and writing them."""
        spent = self.render_seconds + self.write_seconds
        return self.rows_created / spent if spent else float("nan")
    copy_rates: list[float] = field(default_factory=list)
    tasks_per_worker: dict[str, int] = field(default_factory=dict)
    busy_per_worker: dict[str, float] = field(default_factory=dict)
    tasks_by_name: dict[str, int] = field(default_factory=dict)
    broadcast_tasks: int = 0
    rss_mib: dict[str, float] = field(default_factory=dict)
    transactional: list[float] = field(default_factory=list)  # seconds; inf = not delivered
    load_before: str = ""
    load_after: str = ""
    seconds: float = 0.0

    @property
    def copy_median(self) -> float:
        return statistics.median(self.copy_rates) if self.copy_rates else float("nan")


def _seed(env: dict[str, str], hook_url: str) -> tuple[str, dict[str, dict]]:
    """Campaign with an SMS and a webhook variation and a key; returns (key, messages)."""
    harness.django_setup(root=ROOT, env=env)
    from campaigns.models import Campaign, MessageVariation
    from messaging.models import ApiKey, Permission

    campaign = Campaign.objects.create(name="Bench broadcast", status=Campaign.Status.ACTIVE)
    sms = MessageVariation.objects.create(campaign=campaign, channel="sms", name="SMS")
    hook = MessageVariation.objects.create(campaign=campaign, channel="webhook", name="Hook")
    key, prefix, digest = ApiKey.generate()
    ApiKey.objects.create(
        name="bench", prefix=prefix, digest=digest, permissions=list(Permission.values)
    )
    messages = {
        "sandbox": {
            "campaign_id": campaign.campaign_id,
            "messages": {
                "sms": {
                    "app_id": "bench",
                    "message_variation_id": sms.message_variation_id,
                    "subscription_group_id": "bench-group",
                    "body": "Hi {{${first_name}}}, your code is {{custom_attribute.${code}}}",
                }
            },
        },
        "webhook": {
            "campaign_id": campaign.campaign_id,
            "messages": {
                "webhook": {
                    "message_variation_id": hook.message_variation_id,
                    "request_method": "POST",
                    "url": hook_url + "/hook/{{${user_id}}}",
                    "request_headers": {"Content-Type": "application/json"},
                    "body": '{"user": "{{${user_id}}}", "name": "{{${first_name}}}", '
                    '"code": "{{custom_attribute.${code}}}"}',
                }
            },
        },
    }
    return key, messages


def _one(messages: dict, external_id: str) -> dict:
    return {**messages, "external_user_ids": [external_id]}


class Transactional(threading.Thread):
    """Sends a single-recipient message every `every` s until stopped; keeps (t201, id)."""

    def __init__(self, base: str, key: str, body: dict, every: float, recipients: int) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.body, self.every = base, key, body, every
        self.recipients = recipients
        self.sent: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import random

        import httpx

        rng = random.Random(7)
        with httpx.Client() as client:
            while not self.stop.wait(self.every):
                target = f"bench-{rng.randint(1, self.recipients)}"
                try:
                    answered, answer = harness.api_post(
                        self.base, self.key, "/messages/send", _one(self.body, target),
                        client=client,
                    )  # fmt: skip
                    self.sent.append((answered, answer["dispatch_id"]))
                except (RuntimeError, httpx.HTTPError) as exc:
                    self.errors.append(str(exc)[:200])


def _latencies(sent: list[tuple[float, str]], deadline: float) -> list[float]:
    """Seconds from each transactional 201 to its row recorded; inf if not by `deadline`."""
    if not sent:
        return []
    pks = harness.dispatch_pks(DATABASE_URL, [dispatch_id for _, dispatch_id in sent])
    results: dict[str, float] = {}
    with harness.pg_connect(DATABASE_URL) as connection:
        while True:
            for answered, dispatch_id in sent:
                if dispatch_id in results or dispatch_id not in pks:
                    continue
                progress = harness.delivery_progress(connection, pks[dispatch_id])
                if progress.rows and progress.recorded == progress.rows:
                    results[dispatch_id] = progress.last_recorded - answered
            if len(results) == len(sent) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    return [results.get(dispatch_id, float("inf")) for _, dispatch_id in sent]


def _copy(phase: Phase, template: tuple[list[str], list[str]]) -> None:
    columns, fields = template
    data = harness.replicate_rows(columns, fields, phase.recipients)
    phase.copy_rates.append(
        harness.copy_rate(DATABASE_URL, COPY_TABLE, columns, data, phase.recipients)
    )


def run_phase(
    phase: Phase,
    *,
    env: dict[str, str],
    base: str,
    key: str,
    messages: dict,
    args: argparse.Namespace,
    log_dir: Path,
) -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # no message or record of an earlier phase
    phase_dir = log_dir / f"{phase.label}-{phase.workers}w-{phase.recipients}"
    phase_dir.mkdir()
    with harness.celery_workers(
        root=ROOT, env=env, count=phase.workers, log_dir=phase_dir
    ) as workers:
        # Warm-up (imports, connections, compiled templates), one send per worker, not timed.
        # Sent together, so that each idle worker takes one (prefetch is 1).
        warm_ids = [
            harness.api_post(base, key, "/messages/send", _one(messages, f"bench-{n + 1}"))[1][
                "dispatch_id"
            ]
            for n in range(phase.workers)
        ]
        warm_pks = set(harness.dispatch_pks(DATABASE_URL, warm_ids).values())
        for warm_pk in warm_pks:
            progress, done = harness.deliveries_wait(DATABASE_URL, warm_pk, expected=1, timeout=60)
            if not done:
                raise RuntimeError(f"warm-up send not delivered in 60 s: {progress}")
        with harness.pg_connect(DATABASE_URL) as connection:
            row_pk = connection.execute(
                "SELECT id FROM messaging_delivery WHERE dispatch_id = %s", [min(warm_pks)]
            ).fetchone()[0]
            template = harness.row_template(connection, "messaging_delivery", row_pk)
        harness.task_records_clear(REDIS_URL)

        _copy(phase, template)
        phase.load_before = harness.load_average()
        started = time.monotonic()
        with harness.RssSampler(workers):
            answered, answer = harness.api_post(
                base, key, "/messages/send", {**messages, "broadcast": True}
            )
            pk = harness.dispatch_pks(DATABASE_URL, [answer["dispatch_id"]])[answer["dispatch_id"]]
            sender = Transactional(base, key, messages, args.transactional_every, phase.recipients)
            sender.start()
            try:
                progress, phase.finished = harness.deliveries_wait(
                    DATABASE_URL, pk, expected=phase.recipients, timeout=args.timeout, poll=1.0
                )
            finally:
                sender.stop.set()
                sender.join(10)
            # Cut broadcast: what is still queued behind it counts as not delivered.
            grace = time.monotonic() + (TRANSACTIONAL_GRACE_SECONDS if phase.finished else 0)
            phase.transactional = _latencies(sender.sent, grace)
        phase.seconds = time.monotonic() - started
        phase.load_after = harness.load_average()
        phase.rows, phase.recorded, phase.by_status = (
            progress.rows,
            progress.recorded,
            progress.by_status,
        )
        if progress.last_recorded and progress.recorded:
            phase.delivered_per_s = progress.recorded / (progress.last_recorded - answered)
        if progress.last_created and progress.rows:
            phase.created_per_s = progress.rows / (progress.last_created - answered)
        phase.rss_mib = {worker.name: worker.peak_rss_kib / 1024 for worker in workers}
        if sender.errors:
            print(f"  transactional send errors: {len(sender.errors)}, e.g. {sender.errors[0]}")
    # Workers stopped (killed if a task was still running): count what they recorded.
    transactional_pks = set(
        harness.dispatch_pks(DATABASE_URL, [dispatch_id for _, dispatch_id in sender.sent]).values()
    )
    # A shard task names its shard, not its dispatch: map shards to their dispatch.
    with harness.pg_connect(DATABASE_URL) as connection:
        shard_dispatch = dict(
            connection.execute("SELECT id, dispatch_id FROM messaging_dispatchshard").fetchall()
        )
    for record in harness.task_records(REDIS_URL):
        args_ = record.get("args") or []
        first = args_[0] if isinstance(args_, list) and args_ else None
        first = (record.get("kwargs") or {}).get("dispatch_pk", first)
        if record.get("task", "").endswith("dispatch_shard_task"):
            first = shard_dispatch.get(first, first)
        if first in transactional_pks or first in warm_pks:
            continue
        worker = record["worker"].split("@")[0]
        phase.tasks_per_worker[worker] = phase.tasks_per_worker.get(worker, 0) + 1
        phase.render_seconds += record.get("render_seconds", 0.0)
        phase.write_seconds += record.get("write_seconds", 0.0)
        phase.rows_created += record.get("rows_created", 0)
        phase.busy_per_worker[worker] = phase.busy_per_worker.get(worker, 0.0) + (
            record["ended"] - record["started"]
        )
        phase.tasks_by_name[record["task"]] = phase.tasks_by_name.get(record["task"], 0) + 1
        phase.broadcast_tasks += 1
    if not phase.finished:
        # The dispatch may still be "running" in the database: leave nothing to resume it.
        with harness.pg_connect(DATABASE_URL) as connection:
            connection.execute(
                "UPDATE messaging_dispatch SET status = 'failed', error = 'bench: timed out' "
                "WHERE id = %s",
                [pk],
            )
    _copy(phase, template)


def _p95(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    value = ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]
    return "> run" if value == float("inf") else f"{value:.2f}"


def report(phases: list[Phase], hook_stats: dict | None) -> None:
    print()
    print(
        f"{'phase':<9} {'wk':>2} {'recipients':>10} {'deliv/s':>8} {'write/s':>8} "
        f"{'COPY/s':>9} {'÷COPY':>6} {'make/s':>7} {'wall/s':>7} {'tasks':>6} {'/1k':>5} "
        f"{'per worker':>11} "
        f"{'RSS MiB':>13} {'txn n':>5} {'p95 s':>6}  load avg (start → end)"
    )
    for p in phases:
        per_worker = "/".join(
            str(p.tasks_per_worker.get(f"bench{i + 1}", 0)) for i in range(p.workers)
        )
        rss = "/".join(f"{p.rss_mib.get(f'bench{i + 1}', 0):.0f}" for i in range(p.workers))
        mark = "" if p.finished else " (partial: timed out)"
        print(
            f"{p.label:<9} {p.workers:>2} {p.recipients:>10,} {p.delivered_per_s:8.1f} "
            f"{p.writing_per_s:8.0f} {p.copy_median:9,.0f} "
            f"{p.writing_per_s / p.copy_median:6.3f} {p.creating_per_s:7.0f} "
            f"{p.created_per_s:7.0f} "
            f"{p.broadcast_tasks:>6} {1000 * p.broadcast_tasks / p.recipients:5.2f} "
            f"{per_worker:>11} {rss:>13} {len(p.transactional):>5} {_p95(p.transactional):>6}  "
            f"{p.load_before.removeprefix('load ')} → {p.load_after.removeprefix('load ')}{mark}"
        )
    print(
        "  write/s: rows per second of writing them (insert, events, counters, commit) in a"
        " worker, ÷COPY its ratio\n  make/s: per second of rendering (Liquid, addresses) and"
        " writing them; wall/s: over the wall clock\n  (201 → the latest created_at), the"
        " sends in between"
    )
    print("\nper phase: rows by status; tasks by name; busy seconds per worker; COPY rows/s")
    for p in phases:
        busy = ", ".join(f"{w} {s:.0f}s" for w, s in sorted(p.busy_per_worker.items()))
        copies = ", ".join(f"{rate:,.0f}" for rate in p.copy_rates)
        print(
            f"  {p.label} {p.workers}w {p.recipients:,}: {p.by_status}; {p.tasks_by_name}; "
            f"{busy or 'no task finished'}; COPY {copies}; {p.seconds:.0f}s wall"
        )
    if hook_stats is not None:
        print(
            f"  webhook sink: {hook_stats['requests']:,} requests on "
            f"{hook_stats['connections']:,} connections (warm-ups and transactional included)"
        )

    def find(label: str, workers: int, recipients: int | None = None) -> Phase | None:
        for p in phases:
            if p.label == label and p.workers == workers:
                if recipients is None or p.recipients == recipients:
                    return p
        return None

    full = max(p.recipients for p in phases)
    print("\nagainst the issue's targets (at this scale; see the table for load averages):")
    for label in CHANNELS:
        one, two = find(label, 1, full), find(label, 2, full)
        if one is None:
            continue
        best = max((p for p in (one, two) if p), key=lambda p: p.delivered_per_s)
        target = " (target >= 3,472/s)" if label == "sandbox" else ""
        print(f"  {label}: {best.delivered_per_s:,.1f} deliveries/s end to end{target}")
        print(
            f"  {label}: writing the rows {one.writing_per_s / one.copy_median:.3f}x a raw COPY"
            f" of as many rows, 1 worker (target >= 0.25x); with per-profile rendering "
            f"{one.creating_per_s / one.copy_median:.3f}x; over the wall clock, sends "
            f"included, {one.created_per_s / one.copy_median:.3f}x"
        )
        if two is not None:
            share = ", ".join(
                f"{w} {n / max(1, two.broadcast_tasks):.0%}"
                for w, n in sorted(two.tasks_per_worker.items())
            )
            print(
                f"  {label}: 2 workers / 1 worker = "
                f"{two.delivered_per_s / one.delivered_per_s:.2f}x;"
                f" tasks per worker {share or 'none recorded'}"
            )
        print(
            f"  {label}: {1000 * one.broadcast_tasks / one.recipients:.2f} Celery tasks per "
            "1,000 recipients (1 worker)"
        )
    small = min(phases, key=lambda p: p.recipients)
    big = find("sandbox", 1, full)
    if big is not None and small is not big and small.label == "sandbox":
        grow = big.rss_mib.get("bench1", 0) - small.rss_mib.get("bench1", 0)
        print(
            f"  worker RSS: {small.rss_mib.get('bench1', 0):.0f} MiB at {small.recipients:,} vs "
            f"{big.rss_mib.get('bench1', 0):.0f} MiB at {big.recipients:,} recipients: "
            f"+{grow:.0f} MiB (target within 50 MiB)"
        )
    for p in phases:
        if p.recipients == full and p.transactional:
            late = sum(1 for v in p.transactional if v == float("inf"))
            print(
                f"  transactional during the {p.label} broadcast, {p.workers} worker(s): p95 "
                f"{_p95(p.transactional)} s over {len(p.transactional)} sends"
                + (f", {late} not delivered within the run" if late else "")
                + " (target <= 2 s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=200_000, help="broadcast audience")
    parser.add_argument(
        "--small",
        type=float,
        default=0.1,
        help="first sandbox phase to this fraction of --profiles (RSS reference); 0: skip",
    )
    parser.add_argument("--channels", default="sandbox,webhook", help="of: sandbox, webhook")
    parser.add_argument("--workers", default="1,2", help="worker process counts, in order")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds a broadcast may take before it is cut"
    )
    parser.add_argument("--transactional-every", type=float, default=1.0, help="seconds")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs")
    args = parser.parse_args()
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    worker_counts = [int(n) for n in args.workers.split(",")]
    if not set(channels) <= set(CHANNELS) or not channels:
        parser.error(f"--channels: choose among {', '.join(CHANNELS)}")
    if args.profiles < 10 or not 0 <= args.small < 1 or args.timeout > 3600:
        parser.error("--profiles >= 10, 0 <= --small < 1, --timeout <= 3600")

    small = int(args.profiles * args.small) if "sandbox" in channels and args.small else 0
    plan = [Phase("sandbox", 1, small)] if small else []
    plan += [Phase(label, n, args.profiles) for label in channels for n in worker_counts]

    log_dir = Path(tempfile.mkdtemp(prefix="herald-bench-broadcast-"))
    phases: list[Phase] = []
    hook_stats = None
    print(f"broadcast bench: {[(p.label, p.workers, p.recipients) for p in plan]}")
    print(f"worker logs in {log_dir}; {harness.load_average()}, cpus={os.cpu_count()}")
    try:
        with harness.redis_flushed(REDIS_URL), harness.sink("http") as hook_sink:
            env = harness.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)
            env["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
            env = harness.worker_env(env, task_log_url=REDIS_URL)
            harness.database_recreate(root=ROOT, env=env)
            key, messages = _seed(env, f"http://127.0.0.1:{hook_sink.port}")
            with harness.pg_connect(DATABASE_URL) as connection:
                harness.scratch_table(connection, COPY_TABLE)
            inserted = 0

            def profiles_up_to(count: int) -> None:
                nonlocal inserted
                if count > inserted:
                    seconds = harness.profiles_insert(
                        DATABASE_URL, count - inserted, prefix="bench", start=inserted + 1
                    )
                    print(f"inserted profiles {inserted + 1:,}..{count:,} in {seconds:.1f}s")
                    inserted = count
                    with harness.pg_connect(DATABASE_URL) as connection:
                        connection.execute("ANALYZE messaging_profile")

            with harness.gunicorn_running(root=ROOT, env=env, workers=1) as base:
                for phase in plan:
                    profiles_up_to(phase.recipients)
                    print(
                        f"phase {phase.label}, {phase.workers} worker(s), "
                        f"{phase.recipients:,} recipients … ({harness.load_average()})",
                        flush=True,
                    )
                    run_phase(
                        phase,
                        env=env,
                        base=base,
                        key=key,
                        messages=messages[phase.label],
                        args=args,
                        log_dir=log_dir,
                    )
                    phases.append(phase)
                    print(
                        f"  {phase.recorded:,}/{phase.recipients:,} recorded in "
                        f"{phase.seconds:.0f}s, {phase.delivered_per_s:.1f}/s "
                        f"({harness.load_average()})",
                        flush=True,
                    )
            if "webhook" in channels:
                hook_stats = hook_sink.stats()
    finally:
        if phases:
            report(phases, hook_stats)
        if args.keep_logs:
            print(f"\nworker logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
