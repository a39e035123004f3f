"""Hostile templates and catastrophic patterns against a real Celery worker (issue 12).

What it starts (127.0.0.1; everything stopped at the end): a fresh PostgreSQL database
(`BENCH_HOSTILE_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/herald_bench_hostile`),
migrated; Redis (`BENCH_HOSTILE_REDIS_URL`, default `redis://127.0.0.1:6379/13`, flushed
before and after) as the broker; one `celery worker -c 1` (bench/_bench_worker.py: Herald's
app unchanged). Sends are posted from this process through Django's test client (the
view runs here and queues the work on Redis; the worker does the delivery), to one
recipient each, on the email channel (console backend: nothing leaves the machine).

Printed: the worker's resting RSS (its process tree, after a warm-up send), then per
hostile template the time from the 201 to the row's final status, the row's status and
reason, and the worker's peak (its child's VmHWM, which never goes down, and the tree's
RSS sampled every 50 ms); a normal send after them (it must arrive); the issue's literal
range (a 400 at request time); then the catastrophic pattern `^(a+)+$` matched in this
process against 24, 40 and 10,000 characters (RE2), beside Python's `re` on 20 and 22
characters for scale, and as a broadcast audience through the worker.

    .venv/bin/python bench/hostile_input.py
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_HOSTILE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/herald_bench_hostile"
)
REDIS_URL = os.environ.get("BENCH_HOSTILE_REDIS_URL", "redis://127.0.0.1:6379/13")
EMAIL = {"app_id": "a", "from": "orders@acme.test", "subject": "Hi"}
HOSTILE = {
    "the issue's case, size in a variable":
        '{% assign n = 20000000 %}{{ (1..n) | join: "," | size }}',
    "join, long separator": '{{ (1..60000) | join: "' + "s" * 100 + '" | size }}',
    "split into characters": '{{ (1..60000) | join: "" | split: "" | size }}',
    "replace every match": '{{ (1..60000) | join: "," | replace: ",", "' + "r" * 40 + '" }}',
    "append (a 400 KB attribute, twice)": '{{ (1..60000) | join: "," | append:'
              " custom_attribute.big | append: custom_attribute.big | size }}",
    "times, squaring": "{% assign n = 7 %}{% for i in (1..9999) %}{% assign n = n | times: n %}"
                       "{% endfor %}{{ n | size }}",
    "4,000 sequential loops (deadline)":
        "{% assign r = (1..9999) %}" + "{% for i in r %}{% endfor %}" * 4000,
}


def main() -> int:
    env = h.server_env(root=ROOT, database_url=DATABASE_URL, redis_url=REDIS_URL)
    env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    h.database_recreate(root=ROOT, env=env)
    h.django_setup(root=ROOT, env=env)

    from django.test import Client

    from campaigns.models import Campaign, Channel, MessageVariation
    from messaging.audience import audience_matches, audience_normalize
    from messaging.models import Delivery, Dispatch, Profile
    from messaging.services.api_keys import api_key_create

    campaign = Campaign.objects.create(name="Hostile", status=Campaign.Status.ACTIVE)
    MessageVariation.objects.create(campaign=campaign, channel=Channel.EMAIL, name="A")
    Profile.objects.create(external_id="ada", email="ada@example.test",
                           custom_attributes={"code": "a" * 40 + "!", "big": "y" * 400_000})
    Profile.objects.create(external_id="bo", email="bo@example.test",
                           custom_attributes={"code": "aaa"})
    _, key = api_key_create(name="bench", permissions=["messages.send"])
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(body: dict) -> tuple[int, dict, float]:
        response = client.post("/messages/send", body, content_type="application/json")
        return response.status_code, response.json(), time.monotonic()

    def send_one(template: str) -> tuple[float, Delivery]:
        status, answer, answered = post({"external_user_ids": ["ada"],
                                         "messages": {"email": {**EMAIL, "body": template}}})
        if status != 201:
            raise RuntimeError(f"{status} {answer}")
        dispatch = Dispatch.objects.get(dispatch_id=answer["dispatch_id"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            row = Delivery.objects.filter(dispatch=dispatch).first()
            if row is not None and row.status not in ("pending", "sending"):
                return time.monotonic() - answered, row
            time.sleep(0.02)
        raise RuntimeError("no final row within 120 s")

    with tempfile.TemporaryDirectory() as logs, h.redis_flushed(REDIS_URL):
        worker_env = h.worker_env(env, task_log_url=REDIS_URL)
        with h.celery_workers(root=ROOT, env=worker_env, count=1, log_dir=Path(logs)) as workers:
            worker = workers[0]
            child = h.process_tree(worker.process.pid)[-1]
            seconds, row = send_one("<p>Hi {{${first_name}}}</p>")
            resting = worker.tree_rss_kib()
            print(f"worker: resting RSS {resting / 1024:.0f} MiB (process tree, after a warm-up "
                  f"send that took {seconds:.2f} s: {row.status})")
            print()
            print(f"{'hostile template':38} {'201 → row':>10} {'status':>7} {'peak':>9}  reason")
            with h.RssSampler(workers, interval=0.05):
                for name, template in HOSTILE.items():
                    seconds, row = send_one(template)
                    hwm = h.rss_kib(child, "VmHWM")
                    print(f"{name:38} {seconds:9.2f}s {row.status:>7} {hwm / 1024:7.0f} MiB  "
                          f"{row.error[:70]}")
            print(f"worker: peak VmHWM of the task process {h.rss_kib(child, 'VmHWM') / 1024:.0f}"
                  f" MiB; tree RSS sampled every 50 ms peaked at "
                  f"{worker.peak_rss_kib / 1024:.0f} MiB (resting {resting / 1024:.0f} MiB)")
            seconds, row = send_one("<p>Hi {{${first_name}}}, your order shipped.</p>")
            print(f"normal send after them: {row.status} in {seconds:.2f} s")
            status, answer, _ = post({"external_user_ids": ["ada"], "messages": {"email": {
                **EMAIL, "body": '{{ (1..20000000) | join: "," | size }}'}}})
            print(f"the issue's literal range: {status} {answer['errors'][0]}")

            print()
            checked = audience_normalize({"custom_attribute": {
                "custom_attribute_name": "code", "comparison": "matches_regex",
                "value": "^(a+)+$"}})
            for length in (24, 40, 10_000):
                profile = Profile(custom_attributes={"code": "a" * length + "!"})
                started = time.perf_counter()
                audience_matches(checked, profile)
                print(f"^(a+)+$ on {length:>6} characters, RE2: "
                      f"{(time.perf_counter() - started) * 1e6:8.0f} µs")
            for length in (20, 22):
                started = time.perf_counter()
                re.search("^(a+)+$", "a" * length + "!")
                print(f"^(a+)+$ on {length:>6} characters, Python re (before): "
                      f"{time.perf_counter() - started:.2f} s")
            status, answer, answered = post({"broadcast": True, "audience": {
                "custom_attribute": {"custom_attribute_name": "code",
                                     "comparison": "matches_regex", "value": "^(a+)+$"}},
                "messages": {"email": {**EMAIL, "body": "<p>Hi</p>"}}})
            dispatch = Dispatch.objects.get(dispatch_id=answer["dispatch_id"])
            while Dispatch.objects.get(pk=dispatch.pk).status not in ("done", "failed"):
                time.sleep(0.02)
            sent = list(Delivery.objects.filter(dispatch=dispatch).values_list(
                "profile__external_id", "status"))
            print(f"broadcast with ^(a+)+$ (40-character attribute on 'ada'): "
                  f"{time.monotonic() - answered:.2f} s from the 201, rows {sent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
