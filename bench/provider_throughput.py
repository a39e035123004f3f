"""Deliveries per second of each provider adapter against its local protocol server,
side by side with the sandbox adapter, in the same run; and the webhook and email
adapters alone against a plain loop doing the same protocol work at the same concurrency.

    .venv/bin/python bench/provider_throughput.py [--messages 2000] [--batch 500]
        [--concurrency 32] [--per-host 8] [--smtp-connections 4]

Every adapter gets the process's shared client as messaging.delivery.registry builds it
(HTTP/1.1, threads; APNs: the HTTP/2 client of messaging.channels.http2). Webhooks and
email go to the counting sinks of tests/fakes/sink.py (own processes; no added latency):
the webhook adapter (SSRF check, per-host limit) vs plain httpx requests from as many
threads as the adapter's per-host limit (all go to one host), and
the email adapter (Django's message, its SMTP pool) vs `smtplib` threads, one per
connection, formatting a MIME message as large from a string template.

The local servers are the test fakes (tests/fakes/): TLS on 127.0.0.1, HTTP/2 for APNs
(h2 + asyncio), threaded HTTP/1.1 keep-alive for the others; the web push server also
decrypts every payload and the APNs/FCM servers verify every JWT, so the figures include
the servers' work on the same machine. Each server runs in its own (forked) process:
in-process, the GIL ping-pong between server thread and client loop dominates.
Each adapter sends the same number of messages in
pipeline-sized batches; the "sequential" rows (one request in flight) show what the
concurrency and connection reuse buy. Not a test: prints figures only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import smtplib
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import logging  # noqa: E402

import django  # noqa: E402
import httpx  # noqa: E402

django.setup()
logging.getLogger("httpx").setLevel(logging.WARNING)

from django.conf import settings  # noqa: E402

from messaging.channels import adm, apns, fcm, http, http2, twilio, webpush  # noqa: E402
from messaging.channels.base import Outgoing, Result  # noqa: E402
from messaging.channels.email import EmailAdapter, build_message  # noqa: E402
from messaging.channels.sandbox import SandboxAdapter  # noqa: E402
from messaging.channels.webhook import WebhookAdapter  # noqa: E402
from tests.fakes.adm import FakeAdm  # noqa: E402
from tests.fakes.apns import KEY_ID, TEAM_ID, FakeApns, make_p8  # noqa: E402
from tests.fakes.fcm import FakeFcm, make_service_account  # noqa: E402
from tests.fakes.sink import SinkProcess  # noqa: E402
from tests.fakes.tls import local_tls  # noqa: E402
from tests.fakes.twilio import FakeTwilio  # noqa: E402
from tests.fakes.webpush import FakePushService  # noqa: E402

LATENCY = 0.0


def _serve(factory, conn) -> None:  # in the child process
    fake = factory()
    fake.latency = LATENCY
    fake.start()
    conn.send(fake.base_url)
    conn.recv()
    conn.send({"connections": len(fake.connections()), "requests": len(fake.requests)})
    fake.stop()


class InProcess:
    """Run a fake in a forked process; `with InProcess(lambda: FakeX(...)) as base_url:`."""

    def __init__(self, factory) -> None:
        self.factory = factory
        self.stats: dict = {}

    def __enter__(self) -> str:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(self.factory, child), daemon=True)
        self.process.start()
        return self.conn.recv()

    def __exit__(self, *exc) -> None:
        self.conn.send("stop")
        self.stats = self.conn.recv()
        self.process.join(10)


CPU_MS: dict[str, float] = {}  # client CPU per delivery (the servers run in other processes)


def _measure(adapter, make_item, messages: int, batch: int, label: str = "") -> float:
    adapter.send_batch([make_item(-1 - i) for i in range(20)])  # warm-up: connect, tokens
    cpu = time.process_time()
    started = time.perf_counter()
    sent = 0
    while sent < messages:
        items = [make_item(sent + i) for i in range(min(batch, messages - sent))]
        outcomes = adapter.send_batch(items)
        bad = [o for o in outcomes if o.result != Result.DELIVERED]
        if bad:
            raise SystemExit(
                f"{adapter.name}: {len(bad)} not delivered, e.g. {bad[0].provider_response}"
            )
        sent += len(items)
    CPU_MS[label or adapter.name] = (time.process_time() - cpu) * 1000 / messages
    return messages / (time.perf_counter() - started)


def _plain_webhooks(port: int, messages: int, concurrency: int) -> float:
    """httpx POSTs from `concurrency` threads sharing one keep-alive Client (the faster of
    httpx's two clients here: its async one costs about twice the CPU per request)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=10, limits=limits) as client:

        def sender(numbers: range) -> None:
            for n in numbers:
                response = client.post(
                    f"http://127.0.0.1:{port}/hook/{n}",
                    content=f'{{"user": "u", "n": {n}}}'.encode(),
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()

        def run(count: int) -> float:
            threads = [
                threading.Thread(target=sender, args=(range(i, count, concurrency),))
                for i in range(concurrency)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return count / (time.perf_counter() - started)

        run(20)  # warm-up: connections
        return run(messages)


_RAW_EMAIL = (
    'Content-Type: multipart/alternative; boundary="=={n:020d}=="\r\n'
    "MIME-Version: 1.0\r\nSubject: Hi User{n}\r\nFrom: Bench <bench@example.test>\r\n"
    "To: user{n}@example.test\r\nMessage-ID: <{n:032x}@bench.test>\r\n\r\n"
    '--=={n:020d}==\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
    "Hello User{n}, your code is {n}.\r\n"
    '--=={n:020d}==\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n'
    "<p>Hello User{n}, your code is {n}.</p><!--{padding}-->\r\n--=={n:020d}==--\r\n"
)


def _plain_smtp(port: int, messages: int, connections: int, size: int) -> float:
    """smtplib: `connections` threads, each formatting its share of MIME messages (a string
    template padded to `size`, the adapter's message size) over one reused connection."""

    def sender(numbers: range) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for n in numbers:
                raw = _RAW_EMAIL.format(n=n, padding="")
                missing = size - len(raw)
                if missing > 0:
                    padding = ("x" * 76 + "\r\n") * (missing // 78) + "x" * (missing % 78)
                    raw = _RAW_EMAIL.format(n=n, padding=padding)
                smtp.sendmail("bench@example.test", [f"user{n}@example.test"], raw.encode())

    threads = [
        threading.Thread(target=sender, args=(range(i, messages, connections),))
        for i in range(connections)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return messages / (time.perf_counter() - started)


def webhook_and_email(args, plain: list) -> None:  # type: ignore[no-untyped-def]
    """The webhook and email adapters vs plain loops (see the module docstring)."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with SinkProcess("http") as hook_sink, SinkProcess("smtp") as mail_sink:
        client = http.build_client(max_connections=max(64, 4 * args.concurrency))
        adapter = WebhookAdapter(client, concurrency=args.concurrency, per_host=args.per_host)

        def hook(n: int) -> Outgoing:
            url = f"http://127.0.0.1:{hook_sink.port}/hook/{n}"
            body = f'{{"user": "u", "n": {n}}}'
            return Outgoing(f"{abs(n):032x}", url, {"url": url, "body": body})

        for _ in range(2):  # interleaved: adapter, plain, adapter, plain
            rate = _measure(adapter, hook, args.messages, args.batch, "webhook")
            base = _plain_webhooks(hook_sink.port, args.messages, args.per_host)
            plain.append((f"webhook (per host {args.per_host}) vs httpx threads", rate, base))
        http.close_client(client)

        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mail_sink.port
        email = EmailAdapter(pool_size=args.smtp_connections, message_id_domain="bench.test")

        def mail(n: int) -> Outgoing:
            return Outgoing(
                f"{abs(n):032x}",
                f"user{abs(n)}@example.test",
                {
                    "from": "Bench <bench@example.test>",
                    "subject": f"Hi User{n}",
                    "body": f"<p>Hello User{n}, your code is {n}.</p>",
                },
            )

        size = len(build_message(mail(1)).message().as_bytes(linesep="\r\n"))
        for _ in range(2):
            rate = _measure(email, mail, args.messages, args.batch, "email")
            base = _plain_smtp(mail_sink.port, args.messages, args.smtp_connections, size)
            plain.append((f"email ({args.smtp_connections} connections) vs smtplib", rate, base))
        email.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=20.0,
        help="added by each local server before answering, like a provider's round trip",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="DELIVERY_CONCURRENCY")
    parser.add_argument("--per-host", type=int, default=8, help="DELIVERY_PER_HOST_CONCURRENCY")
    parser.add_argument("--smtp-connections", type=int, default=4)
    args = parser.parse_args()
    global LATENCY
    LATENCY = args.latency_ms / 1000
    verify = local_tls().client_context()
    rows: list[tuple[str, float]] = []
    plain: list[tuple[str, float, float]] = []  # (label, adapter/s, plain loop/s)

    def item(address: str, payload: dict, n: int) -> Outgoing:
        return Outgoing(message_id=f"{n:032d}", address=address, payload=payload)

    def measure(label: str, adapter, make_item, messages: int = args.messages) -> None:
        rows.append((label, _measure(adapter, make_item, messages, args.batch, label)))

    measure("sandbox", SandboxAdapter("apple_push"), lambda n: item("ab" * 32, {"alert": "hi"}, n))

    p8 = make_p8()
    account = make_service_account()
    # Every server starts before the first provider adapter: forking after the adapters'
    # event-loop thread exists would copy a process with a running thread. (The sinks of
    # the webhook and email rows are subprocesses, started later.)
    servers = {
        "apns": InProcess(lambda: FakeApns(p8=p8, topic="bench")),
        "fcm": InProcess(lambda: FakeFcm(account)),
        "adm": InProcess(lambda: FakeAdm(client_id="c", client_secret="s")),
        "twilio": InProcess(lambda: FakeTwilio(account_sid="AC" + "1" * 32, auth_token="tok")),
    }
    # Web push subscriptions carry the receiver's keys, so they are made before forking.
    push = FakePushService()
    push.base_url = "https://placeholder"
    subscriptions = [push.subscribe() for _ in range(50)]
    servers["webpush"] = InProcess(lambda: push)
    urls = {name: server.__enter__() for name, server in servers.items()}
    webhook_and_email(args, plain)
    client = http.build_client(verify=verify, max_connections=max(64, 4 * args.concurrency))
    shared = {"client": client}
    h2_client = http2.build_client(verify=verify)  # APNs: HTTP/2 only
    account["token_uri"] = f"{urls['fcm']}/token"
    subscriptions = [s.replace("https://placeholder", urls["webpush"]) for s in subscriptions]

    # The sequential rows (one request in flight) send a quarter as many: they are slow.
    for label, concurrency in (
        ("apns (HTTP/2, concurrent)", args.concurrency),
        ("apns sequential", 1),
    ):
        config = apns.ApnsConfig(
            team_id=TEAM_ID,
            key_id=KEY_ID,
            topic="bench",
            private_key=p8,
            base_url=urls["apns"],
            concurrency=concurrency,
        )
        measure(
            label,
            apns.ApnsAdapter(config, client=h2_client),
            lambda n: item(f"{abs(n):064x}", {"alert": "hi", "badge": 1}, n),
            args.messages if concurrency > 1 else args.messages // 4,
        )
    measure(
        "fcm",
        fcm.FcmAdapter(
            fcm.FcmConfig(
                service_account=account, base_url=urls["fcm"], concurrency=args.concurrency
            ),
            **shared,
        ),
        lambda n: item(f"t{n}", {"alert": "hi", "title": "t"}, n),
    )
    measure(
        "adm",
        adm.AdmAdapter(
            adm.AdmConfig(
                client_id="c", client_secret="s", base_url=urls["adm"], concurrency=args.concurrency
            ),
            **shared,
        ),
        lambda n: item(f"r{n}", {"alert": "hi", "title": "t"}, n),
    )
    private, _ = webpush.generate_vapid_keys()
    measure(
        "webpush (RFC 8291 encrypt)",
        webpush.WebPushAdapter(
            webpush.WebPushConfig(
                vapid_private_key=private,
                subject="mailto:b@x.test",
                concurrency=args.concurrency,
                per_host_concurrency=args.per_host,
            ),
            **shared,
        ),
        lambda n: item(subscriptions[n % 50], {"alert": "hi", "title": "t"}, n),
    )
    for label, concurrency in (
        ("twilio (pooled, concurrent)", args.concurrency),
        ("twilio sequential", 1),
    ):
        config = twilio.TwilioConfig(
            account_sid="AC" + "1" * 32,
            auth_token="tok",
            senders={"g": "+15550001111"},
            base_url=urls["twilio"],
            concurrency=concurrency,
        )
        measure(
            label,
            twilio.TwilioAdapter(config, **shared),
            lambda n: item(f"+1555{abs(n):07d}", {"body": "hi", "subscription_group_id": "g"}, n),
            args.messages if concurrency > 1 else args.messages // 4,
        )

    for server in servers.values():
        server.__exit__()
    connections = servers["apns"].stats["connections"]

    sandbox = rows[0][1]
    print(
        f"{args.messages} messages per adapter, batches of {args.batch}, "
        f"{args.latency_ms:g} ms added per answer, cpus={os.cpu_count()}"
    )
    print(
        f"{'adapter':32} {'deliveries/s':>13} {'sandbox ÷ adapter':>18} "
        f"{'client CPU ms/delivery':>23}"
    )
    for label, rate in rows:
        print(f"{label:32} {rate:13,.0f} {sandbox / rate:18.1f} {CPU_MS.get(label, 0):23.3f}")
    by_label = dict(rows)
    print(
        f"APNs: {connections} HTTP/2 connection(s) in all, one per adapter; concurrent ÷ "
        f"sequential = {by_label['apns (HTTP/2, concurrent)'] / by_label['apns sequential']:.1f}x"
    )
    print(
        f"Twilio: concurrent ÷ sequential = "
        f"{by_label['twilio (pooled, concurrent)'] / by_label['twilio sequential']:.1f}x"
    )
    print(
        f"\nadapters alone vs a plain loop, same protocol work and concurrency "
        f"(target >= 0.5); {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} load"
    )
    print(f"{'adapter':44} {'adapter/s':>10} {'plain/s':>10} {'ratio':>7}")
    for label, adapter_rate, plain_rate in plain:
        print(
            f"{label:44} {adapter_rate:10,.0f} {plain_rate:10,.0f} {adapter_rate / plain_rate:7.3f}"
        )
    print(json.dumps({label: round(rate) for label, rate in rows}))


if __name__ == "__main__":
    main()
