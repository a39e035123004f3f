"""Deliveries per second of each provider adapter against its local protocol server,
side by side with the sandbox adapter, in the same run.

    .venv/bin/python bench/provider_throughput.py [--messages 2000] [--batch 500]

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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
logging.getLogger("httpx").setLevel(logging.WARNING)

from messaging.channels import adm, apns, fcm, twilio, webpush  # noqa: E402
from messaging.channels.base import Outgoing, Result  # noqa: E402
from messaging.channels.sandbox import SandboxAdapter  # noqa: E402
from tests.fakes.adm import FakeAdm  # noqa: E402
from tests.fakes.apns import KEY_ID, TEAM_ID, FakeApns, make_p8  # noqa: E402
from tests.fakes.fcm import FakeFcm, make_service_account  # noqa: E402
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
    args = parser.parse_args()
    global LATENCY
    LATENCY = args.latency_ms / 1000
    verify = local_tls().client_context()
    rows: list[tuple[str, float]] = []

    def item(address: str, payload: dict, n: int) -> Outgoing:
        return Outgoing(message_id=f"{n:032d}", address=address, payload=payload)

    def measure(label: str, adapter, make_item, messages: int = args.messages) -> None:
        rows.append((label, _measure(adapter, make_item, messages, args.batch, label)))
        if hasattr(adapter, "close"):  # the sandbox holds no connections to close
            adapter.close()

    measure("sandbox", SandboxAdapter("apple_push"), lambda n: item("ab" * 32, {"alert": "hi"}, n))

    p8 = make_p8()
    account = make_service_account()
    # Every server starts before the first adapter: forking after the adapters' event-loop
    # thread exists would copy a process with a running thread.
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
    account["token_uri"] = f"{urls['fcm']}/token"
    subscriptions = [s.replace("https://placeholder", urls["webpush"]) for s in subscriptions]

    # The sequential rows (one request in flight) send a quarter as many: they are slow.
    for label, concurrency in (("apns (HTTP/2, concurrent)", 200), ("apns sequential", 1)):
        config = apns.ApnsConfig(
            team_id=TEAM_ID,
            key_id=KEY_ID,
            topic="bench",
            private_key=p8,
            base_url=urls["apns"],
            verify=verify,
            concurrency=concurrency,
        )
        measure(
            label,
            apns.ApnsAdapter(config),
            lambda n: item(f"{abs(n):064x}", {"alert": "hi", "badge": 1}, n),
            args.messages if concurrency > 1 else args.messages // 4,
        )
    measure(
        "fcm",
        fcm.FcmAdapter(fcm.FcmConfig(service_account=account, base_url=urls["fcm"], verify=verify)),
        lambda n: item(f"t{n}", {"alert": "hi", "title": "t"}, n),
    )
    measure(
        "adm",
        adm.AdmAdapter(
            adm.AdmConfig(client_id="c", client_secret="s", base_url=urls["adm"], verify=verify)
        ),
        lambda n: item(f"r{n}", {"alert": "hi", "title": "t"}, n),
    )
    private, _ = webpush.generate_vapid_keys()
    measure(
        "webpush (RFC 8291 encrypt)",
        webpush.WebPushAdapter(
            webpush.WebPushConfig(
                vapid_private_key=private, subject="mailto:b@x.test", verify=verify
            )
        ),
        lambda n: item(subscriptions[n % 50], {"alert": "hi", "title": "t"}, n),
    )
    for label, concurrency in (("twilio (pooled, concurrent)", 20), ("twilio sequential", 1)):
        config = twilio.TwilioConfig(
            account_sid="AC" + "1" * 32,
            auth_token="tok",
            senders={"g": "+15550001111"},
            base_url=urls["twilio"],
            verify=verify,
            concurrency=concurrency,
        )
        measure(
            label,
            twilio.TwilioAdapter(config),
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
    print(json.dumps({label: round(rate) for label, rate in rows}))


if __name__ == "__main__":
    main()
