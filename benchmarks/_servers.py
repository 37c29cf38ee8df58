"""The loopback model servers of `router.testing`, in this process or in a child process.

A real Ollama or OpenAI is another process: in a child, the servers' own Python work does not
compete with the caller's event loop and threads for one interpreter's GIL. In this process
they do, which is how the latency figures before 2026-12-06 were measured.

`python -m benchmarks._servers KEY` is the child: it starts an `OpenAIServer` (accepting KEY)
and an `OllamaServer`, both keeping connections alive, prints their URLs as one JSON line, and
serves until its standard input closes (the parent closing it, or the parent dying).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from benchmarks._common import REPO

_STOP_S = 10.0


class Urls(NamedTuple):
    """Base URLs of the two servers, e.g. `http://127.0.0.1:54321`."""

    openai: str
    ollama: str


@contextmanager
def loopback_servers(key: str, *, child: bool) -> Iterator[Urls]:
    """An OpenAI-compatible and an Ollama loopback server (keep-alive), in a child process or
    in this one; both are stopped on exit."""
    if child:
        with _child(key) as urls:
            yield urls
        return
    from router.testing import OllamaServer, OpenAIServer  # noqa: PLC0415 - the child's import

    with OpenAIServer(key, keep_alive=True) as oai, OllamaServer(keep_alive=True) as oll:
        yield Urls(oai.url, oll.url)


@contextmanager
def _child(key: str) -> Iterator[Urls]:
    command = [sys.executable, "-m", "benchmarks._servers", key]
    proc = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        yield _urls(proc)
    finally:
        _stop(proc)


def _urls(proc: subprocess.Popen[bytes]) -> Urls:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the loopback server process exited ({proc.wait()}) before serving")
    found = json.loads(line)
    return Urls(found["openai"], found["ollama"])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close the child's standard input (its signal to stop), then wait; kill if it hangs."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    try:
        proc.wait(_STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def main(key: str) -> None:
    """Serve until standard input closes."""
    from router.testing import OllamaServer, OpenAIServer  # noqa: PLC0415 - child only

    with OpenAIServer(key, keep_alive=True) as oai, OllamaServer(keep_alive=True) as oll:
        print(json.dumps({"openai": oai.url, "ollama": oll.url}), flush=True)
        sys.stdin.buffer.read()


if __name__ == "__main__":
    main(sys.argv[1])
