"""Shared harness of the benchmarks in bench/ (send_throughput.py, users_track.py,
broadcast.py, channels.py, tracking.py).

Each benchmark compares Herald with a fast baseline *in the same run*, so the parts that
must behave identically for every workload live here once: the server environment, the
fresh bench database, gunicorn start/stop, the bounded concurrent httpx loop, the
interleaved rounds and the results table; and, for the delivery benchmarks, Celery
workers (started and always stopped, RSS sampled, their tasks recorded by
bench/_bench_worker.py), bulk profile seeding, polling delivery rows, the raw COPY and
UPDATE baselines on a scratch copy of the delivery table, and the counting sinks of
tests/fakes/sink.py. Every measurement is bounded (by a count and a number of seconds)
and every run cleans up after itself (servers and workers stopped, its Redis database
flushed) even when it fails half-way.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import django
import httpx
import psycopg
import redis

# One key per bench process: the seeding code and the server it starts must agree on it,
# and a generated one keeps a production-looking secret out of the repository.
SECRET_KEY = secrets.token_urlsafe(50)
BASELINE_PATH = "/campaigns/list"  # cheapest authenticated JSON view: also the readiness probe


@dataclass(frozen=True)
class Workload:
    """One kind of request to time: `make_body` builds a fresh JSON body per request."""

    method: str
    path: str
    make_body: Callable[[], dict] | None = None
    # A fresh path per request (e.g. a different signed token each time); default `path`.
    make_path: Callable[[], str] | None = None


@dataclass
class Measurement:
    """Requests done, time spent, per-request latencies (s) and status counts."""

    done: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, other: Measurement) -> None:
        """Accumulate another round of the same workload."""
        self.done += other.done
        self.elapsed += other.elapsed
        self.latencies.extend(other.latencies)
        for code, count in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + count

    @property
    def rate(self) -> float:
        """Requests per second over the time actually spent (rounds summed, warm-up not)."""
        return self.done / self.elapsed if self.elapsed else float("nan")

    def quantile_ms(self, q: float) -> float:
        return quantile(self.latencies, q) * 1000


@dataclass(frozen=True)
class Column:
    """An extra column of the results table, between the label and p50."""

    title: str
    width: int
    spec: str  # format spec of the value, e.g. ".1f"
    value: Callable[[str, Measurement], float]


def server_env(*, root: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """Environment of the bench server: production settings on the loopback.

    The caller's REDIS_URL / CELERY_BROKER_URL are dropped so that a run never touches
    another Redis database than the bench one (it is flushed before and after).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,  # cache: rate-limit counters, as in production
            "CELERY_BROKER_URL": redis_url,  # tasks are queued; no worker consumes them
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": str(root),  # root may be another checkout (before/after comparisons)
        }
    )
    return env


def database_recreate(*, root: Path, env: dict[str, str]) -> None:
    """Drop, create and migrate env's DATABASE_URL, so every run starts from the same state."""
    database_url = env["DATABASE_URL"]
    name = urlsplit(database_url).path.lstrip("/")
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=root,
        env=env,
        check=True,
    )


def django_setup(*, root: Path, env: dict[str, str]) -> None:
    """Set Django up in this process with the server's settings, to seed through the ORM."""
    os.environ.update(env)
    sys.path.insert(0, str(root))
    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_flushed(redis_url: str) -> Iterator[None]:
    """Flush the bench Redis database before and after (rate-limit counters, queued tasks)."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()


# The application servers a bench can run Herald under (--server): gunicorn's sync
# workers (one request at a time each), its gthread workers (THREADS a process, so one
# request's waits on PostgreSQL and Redis overlap another's work), and granian.
SERVERS = ("sync", "gthread", "granian")
THREADS = 4


def _server_command(kind: str, port: int, workers: int, worker_timeout: int) -> list[str]:
    if kind == "granian":
        return [str(Path(sys.executable).parent / "granian"), "--interface", "wsgi",
                "config.wsgi:application", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--blocking-threads", str(THREADS),
                "--no-ws", "--log-level", "warning"]  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
               "-w", str(workers), "--timeout", str(worker_timeout), "--access-logfile",
               "-" if os.environ.get("BENCH_VERBOSE") else "/dev/null"]  # fmt: skip
    if kind == "gthread":
        command += ["--worker-class", "gthread", "--threads", str(THREADS)]
    elif kind != "sync":
        raise ValueError(f"unknown server {kind!r}: one of {', '.join(SERVERS)}")
    return command


@contextmanager
def gunicorn_running(
    *,
    root: Path,
    env: dict[str, str],
    workers: int,
    worker_timeout: int = 30,
    ready_within: float = 30,
    server_kind: str = "sync",
) -> Iterator[str]:
    """Run Herald under gunicorn (or `server_kind`, one of SERVERS) on a free loopback
    port; yield its base URL.

    Waits until the server answers (or fails clearly if it exits or stays silent), and
    always stops it: SIGTERM for a graceful stop, SIGKILL if that takes over 30 s.
    """
    port = free_port()
    server = subprocess.Popen(
        _server_command(server_kind, port, workers, worker_timeout), cwd=root, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {server.returncode}")
            try:
                httpx.get(base + BASELINE_PATH, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not answer within {ready_within:g} s"
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _drive(
    base: str, workload: Workload, key: str, total: int, seconds: float, concurrency: int
) -> Measurement:
    result = Measurement()
    url = base + workload.path
    remaining = total
    headers = {"Authorization": f"Bearer {key}"} if key else {}  # no key: a public URL
    deadline = time.perf_counter() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            body = workload.make_body() if workload.make_body else None
            target = base + workload.make_path() if workload.make_path else url
            start = time.perf_counter()
            response = await client.request(workload.method, target, json=body, headers=headers)
            result.latencies.append(time.perf_counter() - start)
            code = response.status_code
            result.statuses[code] = result.statuses.get(code, 0) + 1

    # As many connections as workers in the pool: the concurrency is exactly `concurrency`.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    result.done = len(result.latencies)
    return result


def drive(
    base: str, workload: Workload, *, key: str, total: int, seconds: float, concurrency: int
) -> Measurement:
    """`concurrency` concurrent request loops over one keep-alive pool, stopping after
    `total` requests or `seconds`, whichever comes first (a slow server cannot hang a run)."""
    return asyncio.run(_drive(base, workload, key, total, seconds, concurrency))


def requests_per_round(requests: int, rounds: int, concurrency: int) -> int:
    """Each workload's share of `requests` per round; at least one per concurrent loop."""
    return max(requests // rounds, concurrency)


def measure_interleaved(
    base: str,
    workloads: dict[str, Workload],
    *,
    key: str,
    requests: int,
    rounds: int,
    concurrency: int,
    seconds: float,
    warmup: int,
) -> dict[str, Measurement]:
    """Warm each workload up, then time them in `rounds` rounds, alternating the order
    (a, b, b, a, …) so that load from other processes on the machine hits all alike."""
    for workload in workloads.values():  # connections, imports, caches: not timed
        drive(base, workload, key=key, total=warmup, seconds=seconds, concurrency=concurrency)
    results = {label: Measurement() for label in workloads}
    per_round = requests_per_round(requests, rounds, concurrency)
    for round_number in range(rounds):
        order = list(workloads) if round_number % 2 == 0 else list(reversed(workloads))
        for label in order:
            results[label].add(
                drive(
                    base,
                    workloads[label],
                    key=key,
                    total=per_round,
                    seconds=seconds,
                    concurrency=concurrency,
                )
            )
    return results


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0 < q < 1, in hundredths) of values; NaN when there are none."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def print_results(
    results: dict[str, Measurement], *, heading: str, label_width: int, columns: list[Column]
) -> None:
    """One row per workload: label, the script's own columns, p50, p99 and statuses."""
    print(
        f"{heading:<{label_width}} "
        + "".join(f"{column.title:>{column.width}} " for column in columns)
        + f"{'p50 ms':>8} {'p99 ms':>8}  statuses"
    )
    for label, result in results.items():
        print(
            f"{label:<{label_width}} "
            + "".join(
                f"{column.value(label, result):{column.width}{column.spec}} " for column in columns
            )
            + f"{result.quantile_ms(0.5):8.1f} {result.quantile_ms(0.99):8.1f}  "
            f"{result.statuses}"
        )


# --- Worker benchmarks (broadcast.py, channels.py, tracking.py) -----------------------------
#
# What follows starts Celery workers, counting sinks and the scratch tables of the raw
# baselines. Nothing above changes: send_throughput.py and users_track.py run as before.

BENCH_DIR = Path(__file__).resolve().parent
# Delivery statuses that end a row's life: "recorded" means one of these.
FINAL_STATUSES = ("delivered", "sent", "bounced", "failed", "skipped")
WORKER_APP = "_bench_worker"  # config.celery's app plus a per-task record (bench/_bench_worker.py)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to print beside every figure."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def with_bench_modules(env: dict[str, str]) -> dict[str, str]:
    """env with bench/ on PYTHONPATH after the root, for the bench-only modules that the
    server or a worker imports by name (the worker app, settings and URL overrides)."""
    return {**env, "PYTHONPATH": os.pathsep.join([env.get("PYTHONPATH", ""), str(BENCH_DIR)])}


def pg_connect(database_url: str, *, autocommit: bool = True):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(database_url, autocommit=autocommit)


def profiles_insert(
    database_url: str, count: int, *, prefix: str = "bench", start: int = 1
) -> float:
    """Insert `count` profiles (numbered from `start`) in one INSERT … SELECT over
    generate_series; returns the seconds it took.

    Each has an external_id `<prefix>-<i>`, an email, an E.164 phone (so SMS has an
    address), a first name and a custom attribute `code`. Columns are read from the live
    table, so a column added later is filled with its database default or NULL — and a
    NOT NULL column without one stops the run with its name instead of a guess.
    """
    values = {
        "braze_id": "substr(md5(%(prefix)s || i::text), 1, 24)",
        "external_id": "%(prefix)s || '-' || i",
        "email": "%(prefix)s || i || '@example.test'",
        "phone": "'+1555' || lpad(i::text, 7, '0')",
        "first_name": "'User' || i",
        "email_subscribe": "'subscribed'",
        "push_subscribe": "'subscribed'",
        "custom_attributes": "jsonb_build_object('code', i %% 10000)",
        "standard_extras": "'{}'::jsonb",
        "random_bucket": "i %% 10000",
        "created_at": "now()",
        "updated_at": "now()",
    }
    started = time.perf_counter()
    with pg_connect(database_url) as connection:
        columns = connection.execute(
            "SELECT column_name, is_nullable, column_default, data_type, is_identity "
            "FROM information_schema.columns WHERE table_name = 'messaging_profile'"
        ).fetchall()
        names, expressions = [], []
        for name, nullable, default, data_type, identity in columns:
            if name in values:
                names.append(name)
                expressions.append(values[name])
            elif identity == "YES" or default is not None or nullable == "YES":
                continue
            elif data_type in ("character varying", "text"):
                names.append(name)
                expressions.append("''")
            elif data_type == "boolean":
                names.append(name)
                expressions.append("false")
            else:
                raise RuntimeError(f"messaging_profile.{name}: NOT NULL without a default")
        connection.execute(
            f"INSERT INTO messaging_profile ({', '.join(names)}) "
            f"SELECT {', '.join(expressions)} "
            "FROM generate_series(%(start)s::int, %(last)s::int) AS i",
            {"prefix": prefix, "start": start, "last": start + count - 1},
        )
    return time.perf_counter() - started


def api_post(base: str, key: str, path: str, body: dict, *, client=None) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    """POST a JSON body; return (wall-clock time of the answer, its JSON). Raises unless 201."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    if client is None:
        response = httpx.post(base + path, json=body, headers=headers, timeout=60)
    else:
        response = client.post(base + path, json=body, headers=headers, timeout=60)
    answered = time.time()
    if response.status_code != 201:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
    return answered, response.json()


@dataclass
class DeliveryProgress:
    """The delivery rows of some dispatches, as the database has them."""

    rows: int = 0
    recorded: int = 0  # in a final status
    by_status: dict[str, int] = field(default_factory=dict)
    first_created: float | None = None  # epoch seconds
    last_created: float | None = None
    last_recorded: float | None = None  # the latest updated_at of a final row


def dispatch_pks(database_url: str, dispatch_ids: list[str]) -> dict[str, int]:
    """dispatch_id (the API's) → primary key."""
    with pg_connect(database_url) as connection:
        return dict(
            connection.execute(
                "SELECT dispatch_id, id FROM messaging_dispatch WHERE dispatch_id = ANY(%s)",
                [dispatch_ids],
            ).fetchall()
        )


def delivery_progress(connection, dispatch_pk: int, *, by_status: bool = False) -> DeliveryProgress:  # type: ignore[no-untyped-def]
    """One query on the dispatch's rows (the unique index leads with dispatch_id)."""
    rows, recorded, first, last, last_final = connection.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = ANY(%(final)s)), "
        "extract(epoch FROM min(created_at)), extract(epoch FROM max(created_at)), "
        "extract(epoch FROM max(updated_at) FILTER (WHERE status = ANY(%(final)s))) "
        "FROM messaging_delivery WHERE dispatch_id = %(pk)s",
        {"final": list(FINAL_STATUSES), "pk": dispatch_pk},
    ).fetchone()
    progress = DeliveryProgress(
        rows=rows,
        recorded=recorded,
        first_created=float(first) if first is not None else None,
        last_created=float(last) if last is not None else None,
        last_recorded=float(last_final) if last_final is not None else None,
    )
    if by_status:
        progress.by_status = dict(
            connection.execute(
                "SELECT status, count(*) FROM messaging_delivery WHERE dispatch_id = %s "
                "GROUP BY status",
                [dispatch_pk],
            ).fetchall()
        )
    return progress


def deliveries_wait(
    database_url: str,
    dispatch_pk: int,
    *,
    expected: int,
    timeout: float,
    poll: float = 0.5,
    on_poll: Callable[[DeliveryProgress], None] | None = None,
) -> tuple[DeliveryProgress, bool]:
    """Poll until `expected` rows of the dispatch are recorded, or `timeout` seconds pass.
    Returns (progress, finished)."""
    deadline = time.monotonic() + timeout
    with pg_connect(database_url) as connection:
        while True:
            progress = delivery_progress(connection, dispatch_pk)
            if on_poll is not None:
                on_poll(progress)
            if progress.recorded >= expected:
                return delivery_progress(connection, dispatch_pk, by_status=True), True
            if time.monotonic() > deadline:
                return delivery_progress(connection, dispatch_pk, by_status=True), False
            time.sleep(poll)


# --- The raw baselines: a scratch copy of the delivery table --------------------------------


def scratch_table(connection, name: str, like: str = "messaging_delivery") -> None:  # type: ignore[no-untyped-def]
    """(Re)create `name` with the columns, defaults, checks and indexes of `like` (no
    foreign keys, no rows): what a raw COPY or UPDATE loop writes into."""
    connection.execute(f'DROP TABLE IF EXISTS "{name}"')
    connection.execute(f'CREATE TABLE "{name}" (LIKE "{like}" INCLUDING ALL)')


def row_template(connection, table: str, pk: int) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """(column names, the row's fields in COPY text format) of one row, to replicate."""
    columns = [
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    buffer = bytearray()
    with connection.cursor().copy(
        f'COPY (SELECT {", ".join(columns)} FROM "{table}" WHERE id = {int(pk)}) TO STDOUT'
    ) as copy:
        for data in copy:
            buffer += data
    line = bytes(buffer).decode().rstrip("\n")
    if not line:
        raise RuntimeError(f"{table}: no row {pk} to use as a template")
    return columns, line.split("\t")


def replicate_rows(columns: list[str], fields: list[str], count: int, *, start: int = 1) -> bytes:
    """COPY text of `count` copies of a row with fresh id, message_id and profile_id, so
    that every unique index takes them (same width as the template, give or take digits)."""
    index = {name: columns.index(name) for name in ("id", "message_id", "profile_id")}
    out = []
    row = list(fields)
    for n in range(start, start + count):
        row[index["id"]] = str(n)
        row[index["message_id"]] = f"{n:032x}"
        row[index["profile_id"]] = str(n)
        out.append("\t".join(row))
    return ("\n".join(out) + "\n").encode()


def copy_rate(database_url: str, table: str, columns: list[str], data: bytes, rows: int) -> float:
    """Rows/s of one raw COPY of `data` into an emptied `table`, committed (the baseline of
    "creating delivery rows"). TRUNCATE is not timed."""
    with pg_connect(database_url, autocommit=False) as connection:
        connection.execute(f'TRUNCATE "{table}"')
        connection.commit()
        started = time.perf_counter()
        with connection.cursor().copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for offset in range(0, len(data), 1 << 20):
                copy.write(data[offset : offset + (1 << 20)])
        connection.commit()
        elapsed = time.perf_counter() - started
    return rows / elapsed


# --- Celery workers --------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    """A process's resident set (or VmHWM: its peak) in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Worker:
    """One `celery worker` process (its prefork children do the tasks)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    peak_rss_kib: int = 0  # highest sampled RSS of the whole process tree

    def tree_rss_kib(self) -> int:
        return sum(rss_kib(pid) for pid in process_tree(self.process.pid))

    def sample(self) -> None:
        self.peak_rss_kib = max(self.peak_rss_kib, self.tree_rss_kib())

    def reset_peak(self) -> None:
        self.peak_rss_kib = self.tree_rss_kib()


class RssSampler:
    """Samples the workers' RSS in a thread every `interval` s while in the `with` block."""

    def __init__(self, workers: list[Worker], interval: float = 0.5) -> None:
        import threading

        self.workers = workers
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for worker in self.workers:
                worker.sample()

    def __enter__(self) -> RssSampler:
        for worker in self.workers:
            worker.reset_peak()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for worker in self.workers:
            worker.sample()


def worker_env(env: dict[str, str], *, task_log_url: str) -> dict[str, str]:
    """The server's environment plus what the bench worker app reads (see _bench_worker)."""
    return {
        **with_bench_modules(env),
        "BENCH_TASK_LOG_URL": task_log_url,
        "BENCH_TASK_LOG_KEY": "bench:tasks",
    }


def _stop_process_group(process: subprocess.Popen, *, within: float) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL the process group it leads."""
    import signal

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group of this worker only (own session)
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait()


@contextmanager
def celery_workers(
    *,
    root: Path,
    env: dict[str, str],
    count: int,
    log_dir: Path,
    concurrency: int = 1,
    beat: bool = False,
    ready_within: float = 60,
    stop_within: float = 15,
) -> Iterator[list[Worker]]:
    """Start `count` `celery -A _bench_worker worker -c <concurrency>` processes, each in
    its own session and log file (`bench<i>.log` in log_dir), and wait until each says it
    is ready. Always stops them: SIGTERM, then SIGKILL of the group after `stop_within` s
    (a task still running past a bench's timeout must not hold the run). `beat` embeds the
    scheduler in the first worker (periodic tasks, e.g. folding engagement events)."""
    workers: list[Worker] = []
    try:
        for number in range(1, count + 1):
            log_path = log_dir / f"bench{number}.log"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                WORKER_APP,
                "worker",
                "-c",
                str(concurrency),
                "-n",
                f"bench{number}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                "--logfile",
                str(log_path),
            ]
            if beat and number == 1:
                command += ["--beat", "--schedule", str(log_dir / "beat-schedule")]
            with open(log_dir / f"bench{number}.stderr", "w") as stderr:
                process = subprocess.Popen(
                    command,
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,  # the child keeps its own copy of the descriptor
                    start_new_session=True,
                )
            workers.append(Worker(name=f"bench{number}", process=process, log_path=log_path))
        deadline = time.monotonic() + ready_within
        for worker in workers:
            while True:
                if worker.process.poll() is not None:
                    raise RuntimeError(
                        f"celery worker {worker.name} exited ({worker.process.returncode}); "
                        f"see {worker.log_path} and its .stderr"
                    )
                text = worker.log_path.read_text() if worker.log_path.exists() else ""
                if " ready." in text:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"celery worker {worker.name} not ready in {ready_within}s")
                time.sleep(0.2)
        yield workers
    finally:
        for worker in workers:
            _stop_process_group(worker.process, within=stop_within)


def task_records(redis_url: str, key: str = "bench:tasks") -> list[dict]:
    """The records the bench workers appended, one per task run (see _bench_worker)."""
    import json

    import redis

    client = redis.Redis.from_url(redis_url)
    return [json.loads(item) for item in client.lrange(key, 0, -1)]


def task_records_clear(redis_url: str, key: str = "bench:tasks") -> None:
    import redis

    redis.Redis.from_url(redis_url).delete(key)


def sink(kind: str):  # type: ignore[no-untyped-def]
    """A counting HTTP ("http") or SMTP ("smtp") sink in its own process (tests/fakes/sink.py)."""
    if str(BENCH_DIR.parent) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR.parent))
    from tests.fakes.sink import SinkProcess

    return SinkProcess(kind)


@dataclass
class WrkRun:
    """One wrk measurement: requests answered, seconds, latency quantiles, non-2xx/3xx."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")


def wrk_ms(text: str) -> float:
    """Milliseconds of a duration as wrk prints it (12.5us, 3.1ms, 2.0s, 1.2m)."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    base: str, path: str, *, script: Path, connections: int, seconds: float,
    method: str = "GET", body_file: Path | None = None, headers: dict[str, str] | None = None,
) -> WrkRun:  # fmt: skip
    """`wrk` against base+path for `seconds` with `connections` keep-alive connections
    (two threads), sending `method`, the bytes of `body_file` and `headers`."""
    lines = [f'wrk.method = "{method}"']
    if body_file is not None:
        lines.append(f'wrk.body = io.open("{body_file}", "rb"):read("*a")')
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    script.write_text("\n".join(lines) + "\n")
    command = [
        "wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:g}s",
        "--timeout", "10s", "--latency", "-s", str(script), base + path,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    found = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkRun(
        requests=int(found.group(1)),
        seconds=wrk_ms(found.group(2)) / 1000,
        p50_ms=wrk_ms(latency["50"]) if "50" in latency else float("nan"),
        p99_ms=wrk_ms(latency["99"]) if "99" in latency else float("nan"),
        bad=int(bad.group(1)) if bad else 0,
    )
