"""`manage.py demo` as a new user runs it: a real web server and a real Celery worker
process on the embedded (filesystem) broker, on a fresh SQLite file.

One demo serves every test of the module (starting it costs a few seconds).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "SITE_URL", "EMAIL_",
                                "PROMETHEUS_", "HERALD_DEMO", "DEBUG", "SECRET_KEY"))}
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'herald.sqlite3'}",
        HERALD_DEMO_DIR=str(folder / ".demo"),
        # Slow enough that the dispatch page is seen delivering before it is done.
        DELIVERY_RATE_LIMITS="smtp=6",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--addrport", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Stop with Ctrl-C" in line:
            break
    banner = "".join(output)
    try:
        assert "Stop with Ctrl-C" in banner, banner
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield {
            "base": base,
            "banner": banner,
            "password": re.search(r"Log in:\s+demo / (\S+)", banner).group(1),
            "key": re.search(r"REST API key:\s+(hrld_\S+)", banner).group(1),
            "folder": folder,
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_banner_comes_last_and_says_where_everything_is(demo):
    banner = demo["banner"]
    lines = [line for line in banner.splitlines() if line.strip()]
    # The banner closes the output: nothing of pip, runserver or Celery comes after it.
    assert lines[-1].strip() == "Stop with Ctrl-C."
    assert f"Herald is running at {demo['base']}/" in banner
    assert f"{demo['base']}/settings/sent-emails/" in banner
    assert "Celery worker" in banner and "filesystem broker" in banner
    # The seeding's deliveries and folds write nothing to the console.
    assert "Task messaging" not in banner and "Content-Type:" not in banner


def test_a_send_is_accepted_at_once_and_watched_to_the_end(demo, browser):
    recipients = [f"cust-{1001 + i}" for i in range(26)]
    started = time.monotonic()
    response = httpx.post(
        f"{demo['base']}/messages/send",
        headers={"Authorization": f"Bearer {demo['key']}"},
        json={"external_user_ids": recipients, "messages": {"email": {
            "app_id": "demo", "from": "Acme <orders@acme.test>", "subject": "Hi {{${first_name}}}",
            "body": "<p>Hello {{${first_name}}}, <a href=\"https://acme.test/\">see</a></p>",
        }}},
        timeout=10,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text
    assert elapsed < 1.0, f"201 took {elapsed:.2f} s"
    dispatch_id = response.json()["dispatch_id"]

    context = browser.new_context(base_url=demo["base"], viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto("/login/")
        page.get_by_label("Username").fill("demo")
        page.get_by_label("Password").fill(demo["password"])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/messaging/campaigns/**")
        page.goto(f"/messaging/dispatches/{dispatch_id}/")
        status = page.locator("#dispatch-status")
        # The worker delivers about 6 a second: the page polls while it works.
        expect(status).to_have_text("Delivering", timeout=10_000)
        delivering = int(page.locator("#stat-delivered").inner_text().replace(",", ""))
        assert delivering < 26
        expect(status).to_have_text("Done", timeout=20_000)
        expect(page.locator("#stat-delivered")).to_have_text("26")

        # The worker process counted those deliveries; the web process reports them
        # (prometheus-client's multiprocess mode), with the worker's heartbeat and the
        # embedded broker's queues.
        metrics = httpx.get(f"{demo['base']}/metrics").text
        delivered = re.search(
            r'herald_deliveries_total\{channel="email",outcome="delivered",provider="smtp"\} (\S+)',
            metrics,
        )
        assert delivered and float(delivered.group(1)) >= 26 + 26, metrics  # seeding's + these
        assert "herald_workers_alive 1.0" in metrics
        assert 'herald_queue_depth{queue="transactional"} 0.0' in metrics

        # The email is there to read, and its tracking link leads to this very server.
        page.goto("/settings/sent-emails/")
        page.get_by_role("link", name="Hi Zoe").first.click()
        html = page.locator("iframe.mail-frame").get_attribute("srcdoc")
        link = re.search(r'href="([^"]+/t/c/[^"]+)"', html).group(1)
        assert link.startswith(f"{demo['base']}/")
        answer = httpx.get(link, follow_redirects=False)
        assert answer.status_code == 302 and answer.headers["location"] == "https://acme.test/"
    finally:
        context.close()


def test_pages_are_herald_own_with_debug_off(demo):
    missing = httpx.get(f"{demo['base']}/no-such-page/", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert "Herald" in missing.text and "URLconf" not in missing.text  # not Django's debug page
    icon = httpx.get(f"{demo['base']}/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    assert httpx.get(f"{demo['base']}/static/css/herald.css").status_code == 200


def test_a_second_start_prints_the_same_key(demo):
    # Data exists now: the command only prepares (no server) and prints the kept key.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_",
                                                                     "CELERY_", "HERALD_DEMO"))}
    env.update(DATABASE_URL=f"sqlite:///{demo['folder'] / 'herald.sqlite3'}",
               HERALD_DEMO_DIR=str(demo["folder"] / ".demo"))
    again = subprocess.run([sys.executable, "manage.py", "demo", "--no-server"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert demo["key"] in again.stdout
    assert "already had campaigns" in again.stdout
