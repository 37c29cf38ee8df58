"""OpenAI's chat request surface, validated for step 1 (router/_request.py): tool definitions,
tool calls in the conversation, sampling options, and the parameters the router refuses.

The Python API and the gateway share it, so `complete(..., tools=...)` and `POST
/v1/chat/completions` accept and refuse exactly the same requests.
"""

from router._surface._options import (
    REFUSED_PARAMETERS,
    check_max_tokens_pair,
    check_model,
    check_seed,
    check_stop,
    check_top_p,
    check_user,
    refuse_openai_only,
)
from router._surface._tools import (
    check_json_schema_format,
    check_tool_choice,
    check_tool_sequence,
    check_tools,
    message_tool_fields,
    outgoing_texts,
    rebuild_outgoing,
    restore_tool_calls,
)

__all__ = [
    "REFUSED_PARAMETERS",
    "check_json_schema_format",
    "check_max_tokens_pair",
    "check_model",
    "check_seed",
    "check_stop",
    "check_tool_choice",
    "check_tool_sequence",
    "check_tools",
    "check_top_p",
    "check_user",
    "message_tool_fields",
    "outgoing_texts",
    "rebuild_outgoing",
    "refuse_openai_only",
    "restore_tool_calls",
]
