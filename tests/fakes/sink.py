"""Fast counting sinks for benchmarks: an HTTP/1.1 keep-alive server and an SMTP server.

    python -m tests.fakes.sink http|smtp [--port 0]

Unlike the protocol fakes beside it (TLS, one thread per connection, every request kept),
a sink only counts: it must stay far faster than what a benchmark drives through it, so
the figures measure the sender. Each runs in its own process, on 127.0.0.1 only:

- `http`: asyncio, one event loop; parses just enough HTTP/1.1 (request line, headers,
  `Content-Length` body) to answer `200 ok` on the same connection; refuses chunked
  bodies with a 501 (no sender of ours uses them) and closes on `Connection: close`.
- `smtp`: aiosmtpd (a test dependency), accepting every recipient and message.

The process prints one JSON line `{"port": N}` once it listens, then reads commands on
stdin, one a line: `stats` prints `{"requests", "connections", "bytes"}` (for SMTP,
`requests` counts messages accepted, `recipients` their recipients); `quit` or end of
input stops it. `SinkProcess` (below) wraps that for a parent process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]


class Stats:
    """Counters written by the server's thread and read by the command loop (ints: atomic
    enough under the GIL for counting)."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self.bytes = 0
        self.recipients = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
_OK_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)
_NOT_IMPLEMENTED = b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _HttpSink(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            close = b"\r\nconnection: close" in head
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value.strip() or 0)
                elif name == b"transfer-encoding" and b"chunked" in value:
                    self.transport.write(_NOT_IMPLEMENTED)
                    self.transport.close()
                    return
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            self.stats.requests += 1
            self.stats.bytes += total
            if close:
                self.transport.write(_OK_CLOSE)
                self.transport.close()
                return
            self.transport.write(_OK)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _serve_http(port: int, stats: Stats) -> tuple[int, Any]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            loop.create_server(lambda: _HttpSink(stats), "127.0.0.1", port, backlog=512)
        )
        holder["port"] = server.sockets[0].getsockname()[1]
        started.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("HTTP sink did not start")

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return holder["port"], stop


class _SmtpHandler:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001
        # One EHLO per SMTP session: counts connections (aiosmtpd has no connect hook).
        self.stats.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd
        self.stats.requests += 1
        self.stats.recipients += len(envelope.rcpt_tos)
        self.stats.bytes += len(envelope.content or b"")
        return "250 OK"


def _serve_smtp(port: int, stats: Stats) -> tuple[int, Any]:
    from aiosmtpd.controller import Controller

    if not port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    controller = Controller(_SmtpHandler(stats), hostname="127.0.0.1", port=port)
    controller.start()
    return port, controller.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["http", "smtp"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    stats = Stats()
    port, stop = (_serve_http if args.kind == "http" else _serve_smtp)(args.port, stats)
    print(json.dumps({"port": port}), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(stats.as_dict()), flush=True)
            elif command == "quit":
                break
    finally:
        stop()


class SinkProcess:
    """`with SinkProcess("http") as sink:` runs a sink in a child process; `sink.port`,
    `sink.stats()`. Always stopped on exit (quit, then terminate, then kill)."""

    def __init__(self, kind: str, *, python: str = sys.executable) -> None:
        self.kind = kind
        self.python = python
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SinkProcess:
        self.process = subprocess.Popen(
            [self.python, "-m", "tests.fakes.sink", self.kind],
            cwd=_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise RuntimeError(f"{self.kind} sink exited before listening")
            self.port = int(json.loads(line)["port"])
        except BaseException:
            self.__exit__()
            raise
        return self

    def stats(self) -> dict[str, int]:
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.write("quit\n")
                process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    main()
