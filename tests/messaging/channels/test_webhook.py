"""The webhook adapter against a local HTTP server, and its SSRF guard."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from messaging.channels.base import Outgoing, Result
from messaging.channels.webhook import (
    WebhookAdapter,
    WebhookRefused,
    check_target,
    pinned_request,
)
from messaging.models import Delivery


class Listener:
    def __init__(self):
        self.requests = []
        self.flaky_left = 1
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                listener.requests.append((self.command, self.path, dict(self.headers), body))
                status = 200
                if self.path.startswith("/bad"):
                    status = 400
                elif self.path.startswith("/down"):
                    status = 503
                elif self.path.startswith("/flaky") and listener.flaky_left:
                    listener.flaky_left -= 1
                    status = 500
                elif self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"status": status}).encode())

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Listener()
    yield server
    server.close()


def _item(url, **payload):
    return Outgoing(
        message_id="w" * 32, address=url, payload={"url": url, "request_method": "POST", **payload}
    )


def test_delivers_method_headers_and_body(listener, http_client):
    (outcome,) = WebhookAdapter(http_client).send_batch(
        [
            _item(
                f"{listener.url}/hook",
                request_method="PUT",
                request_headers={"X-Token": "s3cret"},
                body='{"name": "Ada"}',
            )
        ]
    )
    assert outcome.result == Result.DELIVERED
    assert outcome.provider_response.startswith("HTTP 200")
    method, path, headers, body = listener.requests[0]
    assert (method, path, body) == ("PUT", "/hook", '{"name": "Ada"}')
    assert headers["X-Token"] == "s3cret"
    assert headers["Content-Type"] == "application/json"  # inferred from the body
    assert headers["X-Herald-Message-Id"] == "w" * 32


def test_plain_text_body_is_labelled_as_such(listener, http_client):
    WebhookAdapter(http_client).send_batch([_item(f"{listener.url}/t", body="hello")])
    assert listener.requests[0][2]["Content-Type"].startswith("text/plain")


def test_5xx_is_retried_and_4xx_is_not(listener, http_client):
    outcomes = WebhookAdapter(http_client).send_batch(
        [_item(f"{listener.url}/down"), _item(f"{listener.url}/bad")]
    )
    assert [o.result for o in outcomes] == [Result.RETRY, Result.FAILED]


def test_network_error_is_retried(settings, http_client):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (outcome,) = WebhookAdapter(http_client).send_batch([_item(f"http://127.0.0.1:{port}/x")])
    assert outcome.result == Result.RETRY


def test_redirects_are_not_followed(listener, http_client):
    (outcome,) = WebhookAdapter(http_client).send_batch([_item(f"{listener.url}/redirect")])
    assert outcome.result == Result.FAILED
    assert len(listener.requests) == 1


# --- SSRF guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin",
        "http://localhost/",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
    ],
)
def test_guard_refuses_private_loopback_and_link_local_targets(settings, url):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(WebhookRefused):
        check_target(url)


def test_guard_checks_every_address_a_name_resolves_to(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    def resolve(host, port, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(WebhookRefused, match="10.1.2.3"):
        check_target("https://sneaky.example.test/")


def test_guard_allows_public_targets_and_allowed_networks(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))
        ],
    )
    check_target("https://public.example.test/")
    monkeypatch.undo()
    check_target("http://10.0.0.5/")


def test_refused_target_is_a_failed_delivery_without_a_request(settings, listener, http_client):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    (outcome,) = WebhookAdapter(http_client).send_batch([_item(f"{listener.url}/hook")])
    assert outcome.result == Result.FAILED
    assert "refused" in outcome.provider_response
    assert listener.requests == []


@pytest.mark.django_db
def test_personalized_webhook_through_the_api(
    listener, api, make_profile, campaign, variation, django_capture_on_commit_callbacks
):
    make_profile(external_id="ada", first_name='Ada "A"')
    make_profile(external_id="bob", first_name="Bob")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send",
            {
                "campaign_id": campaign.campaign_id,
                "external_user_ids": ["ada", "bob"],
                "messages": {
                    "webhook": {
                        "message_variation_id": variation("webhook"),
                        "url": listener.url + "/users/{{${user_id}}}",
                        "request_method": "POST",
                        "request_headers": {"Content-Type": "application/json"},
                        "body": '{"hello": "{{${first_name} | json_escape}}"}',
                    }
                },
            },
        )
    assert response.status_code == 201
    received = {path: json.loads(body) for _, path, _, body in listener.requests}
    assert received == {"/users/ada": {"hello": 'Ada "A"'}, "/users/bob": {"hello": "Bob"}}
    assert Delivery.objects.filter(status="delivered", provider="webhook").count() == 2


@pytest.mark.django_db
def test_webhook_5xx_is_retried_by_the_pipeline_and_sent_once(
    listener, api, make_profile, django_capture_on_commit_callbacks
):
    make_profile(external_id="ada")
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "/messages/send",
            {
                "external_user_ids": ["ada"],
                "messages": {
                    "webhook": {
                        "url": listener.url + "/flaky",
                        "request_method": "POST",
                        "body": "x",
                    }
                },
            },
        )
    assert [path for _, path, _, _ in listener.requests] == ["/flaky", "/flaky"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_connects_to_the_checked_address_not_a_second_lookup(listener, monkeypatch, http_client):
    """DNS rebinding: the name is resolved once, checked, and that address is used."""
    answers = iter(["127.0.0.1", "10.9.9.9"])  # a second lookup would get a private address

    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host != "hooks.example.test":
            return real(host, port, *args, **kwargs)  # the connection to the literal address
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = listener.server.server_address[1]
    (outcome,) = WebhookAdapter(http_client).send_batch(
        [_item(f"http://hooks.example.test:{port}/pinned")]
    )
    assert outcome.result == Result.DELIVERED
    _, path, headers, _ = listener.requests[0]
    assert path == "/pinned"
    assert headers["Host"] == f"hooks.example.test:{port}"


def test_pinned_https_request_keeps_the_name_for_tls():
    url, host, extensions = pinned_request("https://user:pw@api.example.test/x?y=1", "2001:db8::1")
    assert url == "https://user:pw@[2001:db8::1]/x?y=1"
    assert host == {"Host": "api.example.test"}
    assert extensions == {"sni_hostname": "api.example.test"}
