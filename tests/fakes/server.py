"""Transports for the fakes: HTTP/1.1 (threaded) and HTTP/2 (asyncio + h2), both over TLS.

A fake subclasses `Fake` and implements `respond(request)`; the transports parse the
wire, record every request and write the answer. Tests can force the next answers with
`fake.script.append((status, headers, body))` (e.g. a 503, then the normal behaviour).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from .tls import local_tls

Answer = tuple[int, dict[str, str], bytes]
# Numbers TCP connections for `Request.connection`. NOTE: not id(): once a closed
# connection's object is freed, the next one may get the same id and count as the same.
_connection_numbers = itertools.count(1)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int  # which TCP connection carried it
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"content-type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class Fake:
    alpn = ["http/1.1"]

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.base_url = ""
        self._stop: Any = None
        # Seconds added before each answer, to model a real provider's round trip.
        self.latency = 0.0

    # --- what subclasses implement -------------------------------------------------------
    def respond(self, request: Request) -> Answer:
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------
    def handle(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            return scripted
        return self.respond(request)

    def connections(self) -> set[int]:
        return {r.connection for r in self.requests}

    def start(self) -> Fake:
        if "h2" in self.alpn:
            _start_h2(self)
        else:
            _start_http1(self)
        return self

    def stop(self) -> None:
        if self._stop:
            self._stop()
            self._stop = None

    def __enter__(self) -> Fake:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# --- HTTP/1.1 ------------------------------------------------------------------------------


def _start_http1(fake: Fake) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients reuse connections

        def setup(self) -> None:  # once per TCP connection (a handler serves all its requests)
            super().setup()
            self.connection_number = next(_connection_numbers)

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                connection=self.connection_number,
            )
            status, headers, payload = fake.handle(request)
            if fake.latency:
                time.sleep(fake.latency)  # this connection's own thread: others go on
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256
        context = local_tls().server_context(fake.alpn)

        def get_request(self):  # TLS per accepted connection; handshake in the handler thread
            sock, address = super().get_request()
            # Headers and body leave in separate writes: without this, Nagle + delayed ACK
            # add 40 ms to every keep-alive request.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return self.context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            ), address

        def finish_request(self, request, client_address):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
            super().finish_request(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.base_url = f"https://127.0.0.1:{server.server_address[1]}"

    def stop() -> None:
        server.shutdown()
        server.server_close()

    fake._stop = stop


# --- HTTP/2 -------------------------------------------------------------------------------


class _H2Protocol(asyncio.Protocol):
    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.transport: asyncio.Transport | None = None
        self.number = next(_connection_numbers)  # one protocol object per TCP connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            transport.close()  # APNs speaks HTTP/2 only
            return
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.transport.write(self.conn.data_to_send())
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers), bytearray())
            elif isinstance(event, h2.events.DataReceived):
                self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self._answer(event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.transport.close()
        self.transport.write(self.conn.data_to_send())

    def _answer(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id)
        request = Request(
            method=headers.get(":method", ""),
            path=headers.get(":path", ""),
            headers={k: v for k, v in headers.items() if not k.startswith(":")},
            body=bytes(body),
            connection=self.number,
        )
        answer = self.fake.handle(request)
        if self.fake.latency:
            # Other streams of the connection go on meanwhile (HTTP/2 multiplexing).
            asyncio.get_running_loop().call_later(
                self.fake.latency, self._send_answer, stream_id, answer
            )
        else:
            self._send_answer(stream_id, answer)

    def _send_answer(self, stream_id: int, answer: Answer) -> None:
        status, answer_headers, payload = answer
        self.conn.send_headers(
            stream_id,
            [
                (":status", str(status)),
                *answer_headers.items(),
                ("content-length", str(len(payload))),
            ],
            end_stream=not payload,
        )
        if payload:
            self.conn.send_data(stream_id, payload, end_stream=True)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.conn.data_to_send())


def _start_h2(fake: Fake) -> None:
    loop = asyncio.new_event_loop()
    context = local_tls().server_context(fake.alpn)
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            loop.create_server(lambda: _H2Protocol(fake), "127.0.0.1", 0, ssl=context)
        )
        holder["server"] = server
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    port = holder["server"].sockets[0].getsockname()[1]
    fake.base_url = f"https://127.0.0.1:{port}"

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    fake._stop = stop
