"""Plain HTTP/1.1 receivers for the webhook tests: fast, slow or hanging, each counting.

`HttpHost()` listens on 127.0.0.1 (its own port, so each instance is its own "host" to the
per-host limits), answers every request `200 ok` after `delay` seconds (a hanging host:
a delay longer than the client's timeout), and records when each request arrived, its
path, headers and connection, and the most requests it held at once (a request the client
gave up on still counts until its delay ends). Threaded: a slow request does
not hold up the next one. Use it as a context manager.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    # The default backlog (5) drops the SYNs of a burst of new connections, which the
    # client then resends a second later: a stall that is the server's, not the sender's.
    request_queue_size = 128


@dataclass
class Received:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    headers: dict[str, str]
    body: str
    peer: tuple[str, int]  # the client's address and port: one per TCP connection


class HttpHost:
    def __init__(self, *, delay: float = 0.0, status: int = 200) -> None:
        self.delay, self.status = delay, status
        self.received: list[Received] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        self._released = threading.Event()  # set at close: hanging requests give up
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                with host._lock:
                    host.received.append(
                        Received(
                            time.monotonic(),
                            self.command,
                            self.path,
                            dict(self.headers),
                            body,
                            self.client_address,
                        )
                    )
                    host.in_flight += 1
                    host.most_in_flight = max(host.most_in_flight, host.in_flight)
                try:
                    if host.delay:
                        host._released.wait(host.delay)
                    self.send_response(host.status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (its timeout): nobody reads the answer
                finally:
                    with host._lock:
                        host.in_flight -= 1

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HttpHost:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()
