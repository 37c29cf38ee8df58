"""Content capture: whether prompt and answer text may be recorded, and in what shape.

Text is recorded only as the GenAI conventions' `gen_ai.input.messages` and
`gen_ai.output.messages` span attributes (JSON strings), and only when capture is on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.backends._base import ModelResponse

CAPTURE_ENV_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# "true" is the classic value; span_only / span_and_event are the newer GenAI util's spellings.
_ON_VALUES = frozenset({"true", "1", "yes", "on", "span_only", "span_and_event"})


def capture_content_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """True when $OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT turns capture on."""
    value = (os.environ if environ is None else environ).get(CAPTURE_ENV_VAR, "")
    return value.strip().lower() in _ON_VALUES


def input_messages_json(messages: Sequence[Mapping[str, str]]) -> str:
    """`gen_ai.input.messages`: each message as {role, parts: [{type: text, content}]}."""
    return json.dumps(
        [{"role": m["role"], "parts": [_text_part(m["content"])]} for m in messages],
        ensure_ascii=False,
    )


def output_messages_json(response: ModelResponse) -> str:
    """`gen_ai.output.messages`: the answer as one assistant message with its finish reason."""
    message = {
        "role": "assistant",
        "parts": [_text_part(response.text)],
        "finish_reason": response.finish_reason,
    }
    return json.dumps([message], ensure_ascii=False)


def _text_part(text: str) -> dict[str, str]:
    return {"type": "text", "content": text}
