"""Stdlib HTTP plumbing: a threaded loopback server that can be stopped with requests in flight."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger("router.testing")

INVALID_JSON: Any = object()
"""`Exchange.body` when the request body is not valid JSON."""


class Exchange:
    """One HTTP request and the ways to answer it (whole, streamed, or cut short)."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler
        self.method = handler.command
        self.path = handler.path.split("?", 1)[0]
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(self.headers.get("content-length", "0") or "0")
        self.raw_body = handler.rfile.read(length) if length > 0 else b""
        self.body: Any = None
        if self.raw_body:
            try:
                self.body = json.loads(self.raw_body)
            except ValueError:
                self.body = INVALID_JSON

    def send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        *,
        cut: int | None = None,
    ) -> None:
        """Send a whole response; with `cut`, send only that many body bytes and hang up."""
        base = {"Content-Type": content_type, "Content-Length": str(len(body))}
        self._head(status, base, headers)
        if cut is None:
            self._handler.wfile.write(body)
        else:
            self._handler.wfile.write(body[:cut])
            self.abort()

    def send_json(self, status: int, obj: object, headers: Mapping[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def stream(
        self,
        status: int,
        content_type: str,
        chunks: Iterable[bytes],
        headers: Mapping[str, str] | None = None,
        *,
        pause: Callable[[], bool] = lambda: False,
        cut_after: int | None = None,
    ) -> None:
        """Send `chunks` with chunked transfer encoding.

        `pause()` runs before each chunk and hangs up if it returns True; with `cut_after`, the
        connection is closed after that many chunks, without the terminating chunk.
        """
        extra = {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
        self._head(status, {**extra, "Cache-Control": "no-cache"}, headers)
        for sent, chunk in enumerate(chunks):
            if sent == cut_after or (sent and pause()):
                self.abort()
                return
            self._handler.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk))
        self._handler.wfile.write(b"0\r\n\r\n")

    def head_only(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        """Send a status line and headers that promise a body, then hang up."""
        self._head(status, {"Content-Type": content_type, "Transfer-Encoding": "chunked"}, headers)
        self.abort()

    def abort(self) -> None:
        """Close the connection now, whatever was (not) sent."""
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)

    def _head(
        self, status: int, base: Mapping[str, str], headers: Mapping[str, str] | None
    ) -> None:
        h = self._handler
        h.send_response(status)
        if not h.server.keep_alive:
            h.close_connection = True
            base = {**base, "Connection": "close"}
        for key, value in {**base, **(headers or {})}.items():
            h.send_header(key, value)
        h.end_headers()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "router-loopback/1"
    disable_nagle_algorithm = True  # headers and body go out at once, as real servers do
    timeout = 30.0
    server: LoopbackHTTPServer

    def do_GET(self) -> None:
        self.server.dispatch(Exchange(self))

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("loopback: " + format, *args)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` on 127.0.0.1 that tracks its connections so `close()` is clean.

    Without `keep_alive`, every response says `Connection: close`: clients then close their
    sockets as each response ends, so no pooled connection outlives a test's event loop.
    """

    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of concurrent clients (a real model
    # server has a far larger one) would see SYNs dropped and connect timeouts that no real
    # Ollama or API endpoint would cause.
    request_queue_size = 512

    def __init__(self, dispatch: Callable[[Exchange], None], name: str, keep_alive: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.dispatch = dispatch
        self.name = name
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.name}-conn",
            daemon=True,
        )
        with self._lock:
            self._open.add(request)
            self.threads = [t for t in self.threads if t.is_alive()]
            self.threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # the client went away; expected in fault tests
            logger.debug("loopback %s: connection error: %r", self.name, exc)
        else:
            logger.exception("loopback %s: handler failed", self.name)

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving, hang up every open connection and join the handler threads."""
        self.shutdown()
        with self._lock:
            sockets = list(self._open)
            threads = list(self.threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.server_close()
        for thread in threads:
            thread.join(timeout)
