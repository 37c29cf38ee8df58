"""A closed-loop HTTP/1.1 load client on raw asyncio streams, light enough not to be the limit.

Each of `concurrency` workers keeps one keep-alive connection and sends the next request as soon
as the previous answer is complete, until the time window ends. Per request it notes the time
to the first answer token (a non-empty `"content"` in the body: a JSON answer, an SSE or NDJSON
stream) and to the end of the body. Responses are read by Content-Length or chunked encoding;
nothing is parsed as JSON.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field

_FIRST_TOKEN = re.compile(rb'"content":\s*"[^"]')


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send and what: the request bytes are built once."""

    name: str
    port: int
    path: str
    body: bytes
    key: str | None = None

    def request(self) -> bytes:
        auth = f"Authorization: Bearer {self.key}\r\n" if self.key else ""
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n\r\n"
        )
        return head.encode() + self.body


@dataclass
class Result:
    """One window's completed requests: end-to-end and first-token times, in seconds."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_tokens: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, float | None]:
    """Read one response; return its status and when its first answer token arrived."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    first: float | None = None
    if b"transfer-encoding: chunked" in lowered:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if first is None and _FIRST_TOKEN.search(data):
                first = time.perf_counter()
            if size == 0:
                return status, first
    match = re.search(rb"content-length:\s*(\d+)", lowered)
    body = await reader.readexactly(int(match.group(1)) if match else 0)
    if _FIRST_TOKEN.search(body):
        first = time.perf_counter()
    return status, first


async def _worker(target: Target, until: float, result: Result, timeout: float) -> None:
    request = target.request()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    except OSError:
        result.errors += 1
        return
    try:
        while time.perf_counter() < until:
            began = time.perf_counter()
            writer.write(request)
            try:
                status, first = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                result.errors += 1
                return  # the connection is in an unknown state: this worker stops
            ended = time.perf_counter()
            if status != 200:
                result.errors += 1
                continue
            result.latencies.append(ended - began)
            result.first_tokens.append((first or ended) - began)
    finally:
        writer.close()


async def run_window(
    target: Target, concurrency: int, seconds: float, timeout: float = 60.0
) -> Result:
    """Load `target` with `concurrency` workers for `seconds`; requests still open when the
    window ends are finished and counted (a server left working on abandoned requests would
    slow whatever is measured next), and the window's length includes that drain."""
    result = Result()
    began = time.perf_counter()
    until = began + seconds
    await asyncio.gather(*(_worker(target, until, result, timeout) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - began
    return result


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants so far, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    family: set[int] = set()
    grown = {pid}
    while grown - family:  # add children until none is new
        family |= grown
        grown = family | {child for child, (parent, _) in stats.items() if parent in family}
    return sum(stats[member][1] for member in family if member in stats)
