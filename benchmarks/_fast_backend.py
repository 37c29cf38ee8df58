"""A loopback model server for the gateway benchmark that is never the bottleneck.

`router.testing`'s servers are faithful but thread-per-connection; under hundreds of concurrent
keep-alive connections they would saturate before the gateways in front of them. This one is a
bare asyncio protocol (uvloop when installed) answering the two APIs the gateways call, with a
fixed short answer: OpenAI's `POST /v1/chat/completions` (JSON, or SSE when `"stream": true`)
and Ollama's `POST /api/chat` (JSON with `"stream": false`, else NDJSON). Keep-alive, chunked
streams, no parsing beyond what routing needs.

    python -m benchmarks._fast_backend PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

ANSWER = "Paris is the capital of France, on the Seine."
WORDS = [w + " " for w in ANSWER.split(" ")]
WORDS[-1] = WORDS[-1].rstrip()
USAGE = {"prompt_tokens": 12, "completion_tokens": 11, "total_tokens": 23}


def _openai_json(model: str) -> bytes:
    message = {"role": "assistant", "content": ANSWER, "refusal": None}
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": USAGE,
        },
        separators=(",", ":"),
    ).encode()


def _openai_events(model: str) -> list[bytes]:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": model}

    def event(delta: dict[str, object], finish: str | None = None) -> bytes:
        body = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": w}) for w in WORDS]
    events.append(event({}, "stop"))
    events.append(
        b"data: " + json.dumps({**head, "choices": [], "usage": USAGE}).encode() + b"\n\n"
    )
    return [*events, b"data: [DONE]\n\n"]


def _ollama(model: str, text: str, done: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "model": model,
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": done,
    }
    if done:
        out.update(done_reason="stop", prompt_eval_count=12, eval_count=11, total_duration=1)
    return out


def _ollama_json(model: str) -> bytes:
    return json.dumps(_ollama(model, ANSWER, True), separators=(",", ":")).encode()


def _ollama_lines(model: str) -> list[bytes]:
    lines = [_ollama(model, w, False) for w in WORDS] + [_ollama(model, "", True)]
    return [json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines]


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%X\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def _response(status: str, ctype: str, body: bytes, chunked: bool = False) -> bytes:
    length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(body)
    head = b"HTTP/1.1 %s\r\nContent-Type: %s\r\n%s\r\n\r\n" % (
        status.encode(),
        ctype.encode(),
        length,
    )
    return head + body


def answer(path: bytes, body: bytes) -> bytes:
    """The full response bytes for one request."""
    request = json.loads(body or b"{}")
    model = str(request.get("model", "model"))
    if path.startswith(b"/v1/chat/completions") or path.startswith(b"/chat/completions"):
        if request.get("stream"):
            return _response("200 OK", "text/event-stream", _chunked(_openai_events(model)), True)
        return _response("200 OK", "application/json", _openai_json(model))
    if path.startswith(b"/api/chat"):
        if request.get("stream", True):
            return _response("200 OK", "application/x-ndjson", _chunked(_ollama_lines(model)), True)
        return _response("200 OK", "application/json", _ollama_json(model))
    if path.startswith(b"/api/tags"):
        tags = {"models": [{"name": "qwen3.5:9b", "model": "qwen3.5:9b"}]}
        return _response("200 OK", "application/json", json.dumps(tags).encode())
    return _response("404 Not Found", "text/plain", b"not found")


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            path = head.split(b" ", 2)[1]
            self.transport.write(answer(path, body))


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", port, backlog=4096)
    print(f"ready {port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_serve(int(sys.argv[1])))


def loop_factory() -> object:
    """uvloop's event loop when installed (as uvicorn uses it), else asyncio's."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    main()
