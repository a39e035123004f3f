"""Each channel end to end through one Celery worker, beside a plain loop doing the same
protocol work at the same concurrency, in the same run.

What it starts (on 127.0.0.1; all stopped at the end, even on failure):
- a fresh PostgreSQL database (`BENCH_CHANNELS_DATABASE_URL`, default
  `postgres://postgres@127.0.0.1:5432/herald_bench_channels`), migrated, with a campaign
  (SMS, email and webhook variations), a key and `--messages` profiles (email, phone);
- Redis (`BENCH_CHANNELS_REDIS_URL`, default `redis://127.0.0.1:6379/6`, flushed before
  and after) as the Celery broker; Herald under gunicorn (`DEBUG=0`, one process) and one
  `celery -A _bench_worker worker -c 1` (bench/_bench_worker.py: Herald's app, counted);
- a counting HTTP/1.1 keep-alive sink and an SMTP sink (aiosmtpd), each in its own
  process (tests/fakes/sink.py); Herald's email goes to the SMTP sink (`EMAIL_HOST`), its
  webhooks to the HTTP sink (`WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8`).

Per channel, interleaved (Herald, loop, then loop, Herald in the next round, …):
- Herald: a broadcast of that channel alone to the `--messages` profiles, timed from the
  201 to the last delivery row in a final status (its `updated_at`);
- sandbox SMS vs a loop of one committed UPDATE per delivery (status, provider, answer,
  timestamps) on a scratch copy of the delivery table (same columns and indexes, rows
  replicated from a real SMS delivery);
- email vs `smtplib` on `--smtp-connections` reused connections (one thread each: as many
  as Herald's pool, DELIVERY_SMTP_CONNECTIONS) to the same SMTP sink, formatting each
  MIME message (text + HTML alternative, same copy, padded to the size of Herald's
  message as the sink measured it) with a string template;
- webhook vs httpx from `--webhook-concurrency` threads sharing one keep-alive client —
  Herald's per-host limit, DELIVERY_PER_HOST_CONCURRENCY, since every webhook goes to
  the one sink — to the same HTTP sink, same body.

Prints per channel the deliveries/s of both (medians over `--rounds`), the ratio
Herald/loop (target ≥ 0.5 after the delivery engine work) and the load average, and
checks that each sink received every message Herald recorded as delivered.

    .venv/bin/python bench/channels.py [--messages 2000] [--rounds 2] [--timeout 300]
        [--channels sms,email,webhook] [--smtp-connections 4] [--webhook-concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import _harness as harness

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
DATABASE_URL = os.environ.get(
    "BENCH_CHANNELS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench_channels"
)
REDIS_URL = os.environ.get("BENCH_CHANNELS_REDIS_URL", "redis://127.0.0.1:6379/6")
LOOP_TABLE = "bench_loop_delivery"
CHANNELS = ("sms", "email", "webhook")
SUBJECT = "Hi {first}"
HTML = (
    '<p>Hello {first}, your code is {code}. <a href="https://example.test/offer">'
    "See the offer</a></p>"
)
HOOK_BODY = '{{"user": "{user}", "name": "{first}", "code": "{code}"}}'


@dataclass
class Figures:
    herald: list[float] = field(default_factory=list)  # deliveries/s per round
    loop: list[float] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _seed(env: dict[str, str], hook_base: str) -> tuple[str, dict[str, dict]]:
    harness.django_setup(root=ROOT, env=env)
    from campaigns.models import Campaign, MessageVariation
    from messaging.models import ApiKey, Permission

    campaign = Campaign.objects.create(name="Bench channels", status=Campaign.Status.ACTIVE)
    variations = {
        channel: MessageVariation.objects.create(campaign=campaign, channel=channel, name=channel)
        for channel in CHANNELS
    }
    key, prefix, digest = ApiKey.generate()
    ApiKey.objects.create(
        name="bench", prefix=prefix, digest=digest, permissions=list(Permission.values)
    )
    liquid = {"first": "{{${first_name}}}", "code": "{{custom_attribute.${code}}}"}
    objects = {
        "sms": {
            "app_id": "bench",
            "subscription_group_id": "bench-group",
            "body": "Hi {first}, your code is {code}".format(**liquid),
        },
        "email": {
            "app_id": "bench",
            "from": "Bench <bench@example.test>",
            "subject": SUBJECT.format(**liquid),
            "body": HTML.format(**liquid),
        },
        "webhook": {
            "request_method": "POST",
            "url": hook_base + "/hook/{{${user_id}}}",
            "request_headers": {"Content-Type": "application/json"},
            "body": HOOK_BODY.format(user="{{${user_id}}}", **liquid),
        },
    }
    messages = {
        channel: {
            "campaign_id": campaign.campaign_id,
            "messages": {
                channel: {
                    **objects[channel],
                    "message_variation_id": variations[channel].message_variation_id,
                }
            },
        }
        for channel in CHANNELS
    }
    return key, messages


def _dispatch_pk(dispatch_id: str) -> int:
    return harness.dispatch_pks(DATABASE_URL, [dispatch_id])[dispatch_id]


def herald_once(
    base: str, key: str, body: dict, count: int, timeout: float
) -> tuple[float, int, str]:
    """One broadcast of one channel: (deliveries/s from the 201, rows delivered, note)."""
    answered, answer = harness.api_post(base, key, "/messages/send", {**body, "broadcast": True})
    progress, finished = harness.deliveries_wait(
        DATABASE_URL, _dispatch_pk(answer["dispatch_id"]), expected=count, timeout=timeout
    )
    note = ""
    if not finished:
        note = f"timed out after {timeout:g}s: {progress.recorded}/{count} recorded"
    delivered = progress.by_status.get("delivered", 0) + progress.by_status.get("sent", 0)
    if delivered != progress.recorded:
        note += f" statuses {progress.by_status}"
    if not progress.last_recorded:
        return float("nan"), 0, note or "nothing recorded"
    return progress.recorded / (progress.last_recorded - answered), delivered, note.strip()


def loop_sms(
    count: int, template: tuple[list[str], list[str]], deadline: float
) -> tuple[float, int]:
    """One committed UPDATE per delivery (autocommit), the rows replicated from a real one."""
    columns, fields = template
    data = harness.replicate_rows(columns, fields, count)
    with harness.pg_connect(DATABASE_URL) as connection:
        harness.scratch_table(connection, LOOP_TABLE)
        with connection.cursor().copy(
            f'COPY "{LOOP_TABLE}" ({", ".join(columns)}) FROM STDIN'
        ) as copy:
            copy.write(data)
        connection.execute(f"UPDATE \"{LOOP_TABLE}\" SET status = 'sending'")
        connection.execute(f'VACUUM ANALYZE "{LOOP_TABLE}"')
        answer = "sms payload recorded, not sent (no provider configured)"
        done = 0
        started = time.perf_counter()
        for pk in range(1, count + 1):
            connection.execute(
                f'UPDATE "{LOOP_TABLE}" SET status = %s, provider = %s, provider_response = %s, '
                "sent_at = now(), updated_at = now() WHERE id = %s",
                ["delivered", "sandbox", answer, pk],
            )
            done += 1
            if time.monotonic() > deadline:
                break
        return done / (time.perf_counter() - started), done


def _profile_fields(n: int) -> dict[str, str]:
    return {"first": f"User{n}", "code": str(n % 10000), "user": f"bench-{n}"}


_RAW_EMAIL = (
    'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
    "MIME-Version: 1.0\r\n"
    "Subject: {subject}\r\n"
    "From: Bench <bench@example.test>\r\n"
    "To: {to}\r\n"
    "Message-ID: <{n}.bench@example.test>\r\n"
    "\r\n"
    "--{boundary}\r\n"
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "\r\n"
    "{text}\r\n"
    "--{boundary}\r\n"
    'Content-Type: text/html; charset="utf-8"\r\n'
    "\r\n"
    "{html}<!--{padding}-->\r\n"
    "--{boundary}--\r\n"
)


def _raw_email(n: int, size: int) -> bytes:
    values = _profile_fields(n)
    fields = {
        "boundary": f"=={n:020d}==",
        "subject": SUBJECT.format(**values),
        "to": f"bench{n}@example.test",
        "n": n,
        "text": f"Hello {values['first']}, your code is {values['code']}. See the offer",
        "html": HTML.format(**values),
    }
    raw = _RAW_EMAIL.format(padding="", **fields)
    if size > len(raw):
        # SMTP lines stop at 998 octets: pad in lines of 76 + CRLF, as MIME wraps.
        missing = size - len(raw)
        padding = ("x" * 76 + "\r\n") * (missing // 78) + "x" * (missing % 78)
        raw = _RAW_EMAIL.format(padding=padding, **fields)
    return raw.encode()


def loop_email(
    count: int, port: int, deadline: float, *, size: int = 0, connections: int = 1
) -> tuple[float, int]:
    """smtplib on `connections` reused connections, one thread each: format each MIME
    message (text + HTML alternative, the same copy, padded to `size` bytes: the size of
    Herald's message) and send it."""
    done = [0] * connections

    def sender(index: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for n in range(index + 1, count + 1, connections):
                smtp.sendmail("bench@example.test", [f"bench{n}@example.test"], _raw_email(n, size))
                done[index] += 1
                if time.monotonic() > deadline:
                    break

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started), sum(done)


def loop_webhook(
    count: int, port: int, deadline: float, *, concurrency: int = 1
) -> tuple[float, int]:
    """httpx POSTs from `concurrency` threads sharing one keep-alive Client, the same URL
    shape and body."""
    import httpx  # noqa: PLC0415 — the bench's other modes do not need it loaded

    numbers = iter(range(1, count + 1))
    lock = threading.Lock()
    done = [0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=10, limits=limits) as client:

        def sender() -> None:
            while time.monotonic() <= deadline:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                values = _profile_fields(n)
                response = client.post(
                    f"http://127.0.0.1:{port}/hook/{values['user']}",
                    content=HOOK_BODY.format(**values).encode(),
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()
                with lock:
                    done[0] += 1

        threads = [threading.Thread(target=sender) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return done[0] / (time.perf_counter() - started), done[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="recipients per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="Herald/loop pairs per channel")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per measurement")
    parser.add_argument("--channels", default=",".join(CHANNELS))
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--smtp-connections", type=int, default=4, help="Herald's pool and the loop's threads"
    )
    parser.add_argument(
        "--webhook-concurrency",
        type=int,
        default=8,
        help="Herald's per-host limit and the loop's requests in flight",
    )
    args = parser.parse_args()
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    if not channels or not set(channels) <= set(CHANNELS):
        parser.error(f"--channels: choose among {', '.join(CHANNELS)}")
    if not 1 <= args.messages <= 1_000_000 or not 1 <= args.rounds <= 10 or args.timeout > 1800:
        parser.error("1 <= --messages <= 1e6, 1 <= --rounds <= 10, --timeout <= 1800")

    log_dir = Path(tempfile.mkdtemp(prefix="herald-bench-channels-"))
    figures = {channel: Figures() for channel in channels}
    herald_delivered = {channel: 0 for channel in channels}  # timed rounds only
    loop_sent = {channel: 0 for channel in channels}
    received: dict[str, int] = {}  # by each sink during the timed rounds
    print(
        f"channels bench: {args.messages:,} messages per measurement, {args.rounds} round(s), "
        f"one worker (-c 1); {harness.load_average()}, cpus={os.cpu_count()}",
        flush=True,
    )
    try:
        with (
            harness.redis_flushed(REDIS_URL),
            harness.sink("http") as hook_sink,
            harness.sink("smtp") as mail_sink,
        ):
            env = harness.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)
            env.update(
                {
                    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                    "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(mail_sink.port),
                    "SITE_URL": "https://herald.example.test",
                    "DELIVERY_SMTP_CONNECTIONS": str(args.smtp_connections),
                    "DELIVERY_PER_HOST_CONCURRENCY": str(args.webhook_concurrency),
                }
            )
            env = harness.worker_env(env, task_log_url=REDIS_URL)
            harness.database_recreate(root=ROOT, env=env)
            key, messages = _seed(env, f"http://127.0.0.1:{hook_sink.port}")
            seconds = harness.profiles_insert(DATABASE_URL, args.messages)
            print(f"inserted {args.messages:,} profiles in {seconds:.1f}s", flush=True)
            with (
                harness.gunicorn_running(root=ROOT, env=env, workers=1) as base,
                harness.celery_workers(root=ROOT, env=env, count=1, log_dir=log_dir),
            ):
                # Warm-up: one message per channel (imports, connections); the SMS row is
                # the template of the UPDATE loop's table.
                templates = {}
                mail_bytes = mail_sink.stats()["bytes"]
                for channel in channels:
                    body = {**messages[channel], "external_user_ids": ["bench-1"]}
                    _, answer = harness.api_post(base, key, "/messages/send", body)
                    pk = _dispatch_pk(answer["dispatch_id"])
                    progress, done = harness.deliveries_wait(
                        DATABASE_URL, pk, expected=1, timeout=60
                    )
                    if not done:
                        raise RuntimeError(f"{channel} warm-up not delivered: {progress}")
                    with harness.pg_connect(DATABASE_URL) as connection:
                        row = connection.execute(
                            "SELECT id FROM messaging_delivery WHERE dispatch_id = %s", [pk]
                        ).fetchone()[0]
                        templates[channel] = harness.row_template(
                            connection, "messaging_delivery", row
                        )
                # The size of Herald's email (tracking links, unsubscribe headers …): the
                # loop sends messages as large.
                herald_mail_size = mail_sink.stats()["bytes"] - mail_bytes
                loop_email(
                    20, mail_sink.port, time.monotonic() + 30, connections=args.smtp_connections
                )
                loop_webhook(
                    20,
                    hook_sink.port,
                    time.monotonic() + 30,
                    concurrency=args.webhook_concurrency,
                )
                before = {"email": mail_sink.stats(), "webhook": hook_sink.stats()}

                for round_number in range(args.rounds):
                    for channel in channels:
                        order = ["herald", "loop"] if round_number % 2 == 0 else ["loop", "herald"]
                        for side in order:
                            deadline = time.monotonic() + args.timeout
                            if side == "herald":
                                rate, delivered, note = herald_once(
                                    base, key, messages[channel], args.messages, args.timeout
                                )
                                figures[channel].herald.append(rate)
                                herald_delivered[channel] += delivered
                                if note:
                                    figures[channel].notes.append(note)
                            else:
                                if channel == "sms":
                                    rate, done = loop_sms(args.messages, templates["sms"], deadline)
                                elif channel == "email":
                                    rate, done = loop_email(
                                        args.messages,
                                        mail_sink.port,
                                        deadline,
                                        size=herald_mail_size,
                                        connections=args.smtp_connections,
                                    )
                                else:
                                    rate, done = loop_webhook(
                                        args.messages,
                                        hook_sink.port,
                                        deadline,
                                        concurrency=args.webhook_concurrency,
                                    )
                                figures[channel].loop.append(rate)
                                loop_sent[channel] += done
                            figures[channel].loads.append(harness.load_average())
                            print(
                                f"  round {round_number + 1} {channel:<7} {side:<6} "
                                f"{rate:10,.1f}/s  ({harness.load_average()})",
                                flush=True,
                            )
                after = {"email": mail_sink.stats(), "webhook": hook_sink.stats()}
                for channel in set(channels) & {"email", "webhook"}:
                    received[channel] = after[channel]["requests"] - before[channel]["requests"]
    finally:
        if args.keep_logs:
            print(f"worker log kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)

    print(
        f"\n{'channel':<9} {'Herald/s':>10} {'loop/s':>10} {'ratio':>7}  "
        "baseline; load averages (medians over rounds; ratio of the medians)"
    )
    baselines = {
        "sms": "one committed UPDATE per delivery",
        "email": f"smtplib, {args.smtp_connections} reused connection(s)",
        "webhook": f"httpx keep-alive, {args.webhook_concurrency} in flight",
    }
    for channel, fig in figures.items():
        herald = statistics.median(fig.herald) if fig.herald else float("nan")
        loop = statistics.median(fig.loop) if fig.loop else float("nan")
        per_round = [h / b for h, b in zip(fig.herald, fig.loop, strict=False) if b]
        print(
            f"{channel:<9} {herald:10,.1f} {loop:10,.1f} {herald / loop:7.3f}  "
            f"{baselines[channel]}; {' | '.join(x.removeprefix('load ') for x in fig.loads)}"
        )
        print(f"  ratio per round: {', '.join(f'{r:.3f}' for r in per_round)}")
        for note in fig.notes:
            print(f"  note: {note}")
    for channel, count in received.items():
        # What the sink got in the timed rounds, less the loop's: Herald's deliveries.
        from_herald = count - loop_sent[channel]
        expected = herald_delivered[channel]
        verdict = "ok" if from_herald == expected else "MISMATCH"
        print(
            f"{channel} sink: {from_herald:,} messages from Herald for {expected:,} rows "
            f"recorded delivered: {verdict}"
        )
    print("target: ratio >= 0.5 per channel (after the delivery engine work)")


if __name__ == "__main__":
    main()
