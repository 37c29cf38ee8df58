"""The `curl` commands the README and docs/serve.md show, run as written against `router serve
--demo` (only the port differs): what a newcomer pastes must work."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway_helpers import SERVE, Gateway, _wait_until_up, free_port

ROOT = Path(__file__).resolve().parent.parent
CURL = re.compile(r"^curl .*?(?=\n```)", re.S | re.M)

pytestmark = [
    pytest.mark.slow,  # starts a server process that imports litellm (seconds)
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]


def shown_curl_commands(page: str) -> list[str]:
    """Each `curl ...` command of a page's shell blocks, continuation lines joined."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return [c.replace("\\\n", " ") for c in CURL.findall(text)]


@pytest.fixture(scope="module")
def demo_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("curl")
    port = free_port()
    command = [*SERVE, "--demo", "--port", str(port), "--ledger", f"sqlite:///{tmp / 'l.db'}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    gateway = Gateway(process, f"http://127.0.0.1:{port}", tmp / "l.db")
    _wait_until_up(gateway)
    yield gateway
    gateway.stop()


def run_as_shown(command: str, gateway: Gateway) -> str:
    command = command.replace("http://127.0.0.1:8000", gateway.url)
    shell = ["bash", "-c", command]
    done = subprocess.run(shell, check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_pages_show_the_commands_this_test_runs() -> None:
    assert len(shown_curl_commands("README.md")) == 1
    assert len(shown_curl_commands("docs/serve.md")) == 2


def test_the_readme_curl_gets_an_openai_chat_completion(demo_gateway: Gateway) -> None:
    (command,) = shown_curl_commands("README.md")
    answer = json.loads(run_as_shown(command, demo_gateway))
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["role"] == "assistant"
    assert answer["choices"][0]["message"]["content"]
    assert answer["usage"]["total_tokens"] > 0


def test_the_serve_page_curls_show_routing_headers_and_a_stream(demo_gateway: Gateway) -> None:
    plain, streamed = shown_curl_commands("docs/serve.md")
    head, _, body = run_as_shown(plain, demo_gateway).replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 200")
    for header in ("request-id", "tier", "model", "cost-usd", "savings-usd"):
        assert f"x-router-{header}:" in head.lower()
    assert json.loads(body)["object"] == "chat.completion"
    events = [line for line in run_as_shown(streamed, demo_gateway).splitlines() if line]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[-1]["usage"]["completion_tokens"] > 0  # stream_options.include_usage
