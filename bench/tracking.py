"""The open pixel (/t/o/<token>) and click redirect (/t/c/<token>) under gunicorn, beside
a bare Django view answering the same bytes under the same server, in the same run.

What it starts (on 127.0.0.1; all stopped at the end, even on failure):
- a fresh PostgreSQL database (`BENCH_TRACKING_DATABASE_URL`, default
  `postgres://postgres@127.0.0.1:5432/herald_bench_tracking`), migrated, with a campaign,
  an email variation, one dispatch and `--deliveries` delivered email rows (sent an hour
  ago, so no open counts as a machine open) and their profiles;
- Redis (`BENCH_TRACKING_REDIS_URL`, default `redis://127.0.0.1:6379/7`, flushed before
  and after: cache, Celery broker);
- Herald under gunicorn (`DEBUG=0`, `--workers` sync processes) with the settings
  override `_tracking_settings` (bench/ on PYTHONPATH), whose URL conf adds the bare
  views `/bench/o/<token>` and `/bench/c/<token>` in front of Herald's own URLs (same
  middleware and decorators, no token read, nothing recorded) — the app gains no route;
- one Celery worker with the scheduler embedded (`-B`), so that events recorded off the
  request path (a fold task, a periodic flush) land before the count below.

Tokens are signed by `messaging.tracking.links.open_url` / `click_url`, one per delivery;
each request takes the next token. The load is `wrk` (when installed: `apt-get install
wrk`; `--tool httpx` forces the harness's httpx loop) at `--connections` connections,
`--seconds` per measurement, in `--rounds` interleaved rounds (bare open, Herald open,
bare click, Herald click, then the reverse order). Prints requests/s, p50/p99 (wrk's
latency distribution, or the harness's), statuses, the ratios Herald/bare (target ≥ 0.5)
and the load average; then waits up to `--fold-wait` s until the database holds one
EngagementEvent (kind open or machine_open; click) per answered hit, and says whether
every hit was recorded.

    .venv/bin/python bench/tracking.py [--seconds 10] [--rounds 3] [--connections 16]
        [--deliveries 1000] [--workers 2] [--tool auto|wrk|httpx]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import _harness as harness

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
DATABASE_URL = os.environ.get(
    "BENCH_TRACKING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench_tracking"
)
REDIS_URL = os.environ.get("BENCH_TRACKING_REDIS_URL", "redis://127.0.0.1:6379/7")
LINK = "https://example.test/landing?from=bench"  # the bare redirect's target too
WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
function init(args)
  i = math.random(#paths)
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
"""


@dataclass
class Run:
    """A workload's runs summed: answered requests, seconds, statuses, latency quantiles."""

    requests: int = 0
    ok: int = 0  # 2xx/3xx answers: each must be one recorded event (Herald's side)
    seconds: float = 0.0
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)  # req/s of each round

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")


def _seed(env: dict[str, str], count: int) -> tuple[list[str], list[str]]:
    """Deliveries to point at; returns (open paths, click paths), one per delivery."""
    from datetime import timedelta

    harness.django_setup(root=ROOT, env=env)
    from django.utils import timezone

    from campaigns.models import Campaign, MessageVariation
    from messaging.models import Delivery, Dispatch, Profile
    from messaging.tracking.links import click_url, open_url

    harness.profiles_insert(DATABASE_URL, count)
    campaign = Campaign.objects.create(name="Bench tracking", status=Campaign.Status.ACTIVE)
    variation = MessageVariation.objects.create(campaign=campaign, channel="email", name="Email")
    dispatch = Dispatch.objects.create(
        campaign=campaign, audience={"broadcast": True}, messages={}, status="done"
    )
    sent = timezone.now() - timedelta(hours=1)
    rows = Delivery.objects.bulk_create(
        Delivery(
            dispatch=dispatch,
            profile=profile,
            channel="email",
            campaign=campaign,
            variation=variation,
            status=Delivery.Status.DELIVERED,
            address=profile.email,
            provider="smtp",
            provider_response="250 accepted",
            attempts=1,
            sent_at=sent,
        )
        for profile in Profile.objects.order_by("pk")[:count]
    )
    opens = [urlsplit(open_url(row.message_id)).path for row in rows]
    clicks = [urlsplit(click_url(row.message_id, 0, LINK)).path for row in rows]
    return opens, clicks


def run_wrk(base: str, paths_file: Path, script: Path, args: argparse.Namespace, seconds: float):  # type: ignore[no-untyped-def]
    script.write_text(WRK_SCRIPT % paths_file)
    command = [
        "wrk",
        "-t",
        str(min(2, args.connections)),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        base,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    elapsed_text = re.search(r"\d+ requests in ([\d.]+\w+)", out).group(1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    run = Run(
        requests=requests,
        ok=requests - (int(bad.group(1)) if bad else 0),
        seconds=harness.wrk_ms(elapsed_text) / 1000,
        p50_ms=[harness.wrk_ms(latency["50"])] if "50" in latency else [],
        p99_ms=[harness.wrk_ms(latency["99"])] if "99" in latency else [],
    )
    run.statuses = {"2xx/3xx": run.ok}
    if bad:
        run.statuses["other"] = int(bad.group(1))
    if errors:
        run.statuses["socket errors"] = errors.group(1).strip()  # type: ignore[assignment]
    return run


def run_httpx(base: str, paths: list[str], args: argparse.Namespace, seconds: float) -> Run:
    import itertools

    cycle = itertools.cycle(paths)
    measurement = harness.drive(
        base,
        harness.Workload("GET", paths[0], make_path=lambda: next(cycle)),
        key="",
        total=10**7,
        seconds=seconds,
        concurrency=args.connections,
    )
    ok = sum(n for code, n in measurement.statuses.items() if 200 <= code < 400)
    return Run(
        requests=measurement.done,
        ok=ok,
        seconds=measurement.elapsed,
        p50_ms=[measurement.quantile_ms(0.5)],
        p99_ms=[measurement.quantile_ms(0.99)],
        statuses={str(code): n for code, n in measurement.statuses.items()},
    )


def _recorded() -> dict[str, int]:
    with harness.pg_connect(DATABASE_URL) as connection:
        return dict(
            connection.execute(
                "SELECT kind, count(*) FROM analytics_engagementevent "
                "WHERE kind IN ('open', 'machine_open', 'click') GROUP BY kind"
            ).fetchall()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="per measurement (<= 60)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--deliveries", type=int, default=1000, help="distinct tokens")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--fold-wait", type=float, default=60, help="seconds (<= 300)")
    args = parser.parse_args()
    if not 0 < args.seconds <= 60 or not 1 <= args.rounds <= 10 or not 0 <= args.fold_wait <= 300:
        parser.error("0 < --seconds <= 60, 1 <= --rounds <= 10, 0 <= --fold-wait <= 300")
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "httpx"
    elif tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk), or use --tool httpx")

    work_dir = Path(tempfile.mkdtemp(prefix="herald-bench-tracking-"))
    labels = {
        "bare open (baseline)": "bare-open",
        "GET /t/o/<token> (open pixel)": "open",
        "bare click (baseline)": "bare-click",
        "GET /t/c/<token> (click redirect)": "click",
    }
    results = {label: Run() for label in labels}
    warm_ok = {"open": 0, "click": 0}
    print(
        f"tracking bench: {tool}, {args.connections} connections, {args.seconds:g}s x "
        f"{args.rounds} rounds per workload, gunicorn workers={args.workers}; "
        f"{harness.load_average()}, cpus={os.cpu_count()}",
        flush=True,
    )
    try:
        with harness.redis_flushed(REDIS_URL):
            env = harness.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)
            env = harness.worker_env(env, task_log_url=REDIS_URL)
            harness.database_recreate(root=ROOT, env=env)
            opens, clicks = _seed(env, args.deliveries)
            paths = {
                "bare-open": ["/bench/o/" + p.rsplit("/", 1)[1] for p in opens],
                "open": opens,
                "bare-click": ["/bench/c/" + p.rsplit("/", 1)[1] for p in clicks],
                "click": clicks,
            }
            files = {}
            for name, values in paths.items():
                files[name] = work_dir / f"{name}.txt"
                files[name].write_text("\n".join(values) + "\n")
            server_env = {**env, "DJANGO_SETTINGS_MODULE": "_tracking_settings"}

            def measure(name: str, seconds: float) -> Run:
                if tool == "wrk":
                    return run_wrk(base, files[name], work_dir / f"{name}.lua", args, seconds)
                return run_httpx(base, paths[name], args, seconds)

            with (
                harness.celery_workers(root=ROOT, env=env, count=1, log_dir=work_dir, beat=True),
                harness.gunicorn_running(root=ROOT, env=server_env, workers=args.workers) as base,
            ):
                for name in labels.values():  # warm-up: imports, connections; counted below
                    run = measure(name, min(2.0, args.seconds))
                    if name in warm_ok:
                        warm_ok[name] += run.ok
                for round_number in range(args.rounds):
                    order = list(labels) if round_number % 2 == 0 else list(reversed(labels))
                    for label in order:
                        run = measure(labels[label], args.seconds)
                        total = results[label]
                        total.requests += run.requests
                        total.ok += run.ok
                        total.seconds += run.seconds
                        total.p50_ms += run.p50_ms
                        total.p99_ms += run.p99_ms
                        for status, n in run.statuses.items():
                            if isinstance(n, int):
                                total.statuses[status] = total.statuses.get(status, 0) + n
                            else:
                                total.statuses[status] = n
                        total.loads.append(harness.load_average())
                        total.rates.append(run.rate)
                        print(
                            f"  round {round_number + 1} {label:<36} {run.rate:8.1f} req/s "
                            f"({harness.load_average()})",
                            flush=True,
                        )
                expected = {
                    "open": warm_ok["open"] + results["GET /t/o/<token> (open pixel)"].ok,
                    "click": warm_ok["click"] + results["GET /t/c/<token> (click redirect)"].ok,
                }
                # Hits that wrk cut at the end may still have been served: at most one per
                # connection per run.
                slack = args.connections * (args.rounds + 1)
                wait_started = time.monotonic()
                deadline = wait_started + args.fold_wait
                while True:
                    recorded = _recorded()
                    got = {
                        "open": recorded.get("open", 0) + recorded.get("machine_open", 0),
                        "click": recorded.get("click", 0),
                    }
                    if all(got[k] >= expected[k] for k in expected):
                        break
                    if time.monotonic() > deadline:
                        break
                    time.sleep(1)
                waited = time.monotonic() - wait_started
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    print(f"\n{'workload':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses; load averages")
    for label, run in results.items():
        p50 = statistics.median(run.p50_ms) if run.p50_ms else float("nan")
        p99 = statistics.median(run.p99_ms) if run.p99_ms else float("nan")
        print(
            f"{label:<36} {run.rate:9.1f} {p50:8.2f} {p99:8.2f}  {run.statuses}; "
            f"{' | '.join(x.removeprefix('load ') for x in run.loads)}"
        )
    runs = list(results.values())
    rates = [run.rate for run in runs]
    print(
        f"\nratio open/bare = {rates[1] / rates[0]:.3f}, click/bare = {rates[3] / rates[2]:.3f} "
        "(target >= 0.5 each)"
    )
    # Each round's Herald run sits next to its baseline run: the median of those ratios
    # is what background load moves least.
    for name, herald, bare in (("open", runs[1], runs[0]), ("click", runs[3], runs[2])):
        per_round = [h / b for h, b in zip(herald.rates, bare.rates, strict=True) if b]
        print(
            f"{name}/bare per round: {', '.join(f'{r:.3f}' for r in per_round)}; "
            f"median {statistics.median(per_round):.3f}"
        )
    print(
        f"(p50/p99 are medians over the rounds; {tool} measured; the sum of requests over "
        "the sum of seconds gives req/s)"
    )
    for kind in ("open", "click"):
        ok = expected[kind] <= got[kind] <= expected[kind] + slack
        print(
            f"{kind}: {got[kind]:,} events recorded for {expected[kind]:,} answered hits "
            f"(warm-up included; {recorded} by kind) after {waited:.0f}s: "
            + ("every hit recorded" if ok else "MISMATCH")
        )


if __name__ == "__main__":
    main()
