"""Run `router serve` as a real process on a loopback port, in front of the loopback model
servers, for the gateway's end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml

from router.testing import AnthropicServer, OllamaServer, OpenAIServer

KEYS = {
    "GW_KEY_SUPPORT": "sk-support-0123456789abcdef",
    "GW_KEY_BROKE": "sk-broke-0123456789abcdef01",
    "GW_KEY_HASTY": "sk-hasty-0123456789abcdef01",
}
SERVE = [sys.executable, "-c", "from router.cli import main; main()", "serve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def policy_data(
    ollama: OllamaServer, openai_server: OpenAIServer, anthropic: AnthropicServer, **extra: Any
) -> dict[str, Any]:
    """A policy on the loopback servers: short prompts local, long ones frontier, fast retries."""
    data: dict[str, Any] = {
        "name": "gateway-test",
        "local": {"host": ollama.url, "read_timeout_s": 30, "connect_timeout_s": 5},
        "frontier": {
            "models": [
                {"model": "gpt-5.4", "api_base": openai_server.url + "/v1", "api_key": "sk-t"},
                {
                    "model": "anthropic/claude-opus-4-6",
                    "api_base": anthropic.url,
                    "api_key": "sk-ant-t",
                },
            ]
        },
        "routing": {"rule": "token-count", "token_count_threshold": 200},
        "retries": {"max_attempts": 1, "deadline_s": 30},
    }
    data.update(extra)
    return data


@dataclass
class Gateway:
    """A running `router serve` process."""

    process: subprocess.Popen[str]
    url: str
    ledger: Path

    def client(self, key: str | None = KEYS["GW_KEY_SUPPORT"], **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key or "none", **kwargs)

    log: str = ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the process, wait for it, and keep what it printed in `log`."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.log += self.process.communicate(timeout=timeout)[0] or ""
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.log += self.process.communicate(timeout=5)[0] or ""
        return self.process.returncode


def start_gateway(
    tmp: Path, policy: dict[str, Any], *args: str, env: dict[str, str] | None = None
) -> Gateway:
    """`router serve --policy FILE` on a free port, ready (its /healthz answers) on return."""
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    ledger = tmp / "ledger.db"
    port = free_port()
    command = [*SERVE, "--policy", str(path), "--port", str(port), *args]
    if "--ledger" not in args:
        command += ["--ledger", f"sqlite:///{ledger}"]
    environment = {**os.environ, **KEYS, **(env or {}), "XDG_DATA_HOME": str(tmp / "data")}
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    gateway = Gateway(process, f"http://127.0.0.1:{port}", ledger)
    _wait_until_up(gateway)
    return gateway


def _wait_until_up(gateway: Gateway, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            gateway.stop()
            raise RuntimeError(f"router serve exited:\n{gateway.log}")
        try:
            if httpx.get(gateway.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    gateway.stop(signal.SIGKILL)
    raise RuntimeError(f"router serve did not start:\n{gateway.log}")
