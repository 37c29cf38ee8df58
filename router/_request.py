"""Step 1 of the pipeline: validate a request before any network call.

Everything a caller can get wrong is caught here with an `InvalidRequestError` that names the
argument and how to fix it, and never quotes the prompt.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from router import _surface as surface
from router._privacy_step import check_privacy
from router._request_checks import check_json, check_metadata_bounds, check_text
from router.backends._base import Message
from router.backends._usage import estimate_tokens, max_tokens_of
from router.errors import InvalidRequestError, PromptTooLongError
from router.policy import Policy

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_RESERVED_METADATA = ("team", "app", "user")
_REFUSED_ARGS = frozenset({"api_base", "base_url", "api_key", "host", "extra_headers"})
_MAX_METADATA_VALUE = 256
_FORMATS = frozenset({"text", "json_object", "json_schema"})
_PER_MESSAGE = 4  # role and separators, as OpenAI's chat format counts them
_KNOWN_PARTS = frozenset({"text", "image_url", "input_audio", "file", "str", "dict", "list"})
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True)  # json.dumps(sort_keys=True) builds one per call


@dataclass(frozen=True, slots=True)
class RoutedRequest:
    """A validated request: normalised text-only messages and routing metadata.

    `policy` is the effective policy (team and app overrides applied). `frontier_messages` is
    the copy frontier models see when personal data was redacted (`frontier_tools` and
    `frontier_stop` likewise), and `redactions` maps its placeholders back to the values, to
    restore them in the answer. `model` is the model the caller pinned (None: routed).
    """

    request_id: str
    messages: tuple[Message, ...]
    sensitive: bool
    team: str | None = None
    app: str | None = None
    user: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    max_tokens: int | None = None
    temperature: float | None = None
    response_format: Mapping[str, Any] | None = None
    token_count: int | None = field(default=None, compare=False)
    verifiers: tuple[Any, ...] = ()
    policy: Policy = field(default_factory=Policy)
    frontier_messages: tuple[Message, ...] | None = None
    redactions: Mapping[str, str] | None = None
    pii_classes: tuple[str, ...] = ()
    model: str | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    frontier_tools: tuple[Mapping[str, Any], ...] | None = None
    frontier_stop: tuple[str, ...] | None = None

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens (tiktoken `o200k_base`, +4 per message), counted on first use.

        Only the token-count rule, budget reservations and the baseline cost need the number,
        so a request routed by the classifier is not counted before its call. Exact when read.
        """
        if self.token_count is not None:
            return self.token_count
        tokens = count_prompt_tokens(self.messages, self.tools)
        object.__setattr__(self, "token_count", tokens)  # a cache: the value is determined
        return tokens

    @property
    def scoring_text(self) -> str:
        """What the classifier scores: the last user message."""
        return str(next(m["content"] for m in reversed(self.messages) if m["role"] == "user"))

    @property
    def prompt_hash(self) -> str:
        canonical = _CANONICAL_JSON.encode([dict(m) for m in self.messages])
        return hashlib.sha256(canonical.encode()).hexdigest()


def build_request(
    policy: Policy,
    *,
    prompt: str | None,
    messages: Sequence[Mapping[str, Any]] | None,
    metadata: Mapping[str, Any] | None,
    sensitive: bool | None,
    max_tokens: int | None,
    temperature: float | None,
    response_format: Mapping[str, Any] | None,
    request_id: str | None,
    unknown: Mapping[str, Any],
    verifiers: Sequence[Any] | None = None,
    **openai: Any,
) -> RoutedRequest:
    """Validate the caller's arguments against the request's effective policy (the base policy
    with its team and app overrides); raise `InvalidRequestError` if they are wrong.

    Privacy is settled here too, before any network call: a request carrying data the policy
    refuses raises `SensitiveDataError`; data it keeps local marks the request sensitive; data
    it redacts gets placeholders in the copy of the messages frontier models will see.

    `openai` holds the rest of OpenAI's chat parameters (model, tools, tool_choice, stop,
    top_p, seed, max_completion_tokens, user); see router/_surface.
    """
    _refuse_unknown(unknown)
    normalised = _normalise_messages(prompt, messages)
    meta = _check_metadata(surface.check_user(openai.get("user"), metadata))
    policy = policy.for_request(meta.get("team"), meta.get("app"))
    check_json("`tools`", openai.get("tools"))  # bounded before a schema validator walks it
    check_json("`stop`", openai.get("stop"))
    check_json("`tool_choice`", openai.get("tool_choice"))
    tools = surface.check_tools(openai.get("tools"))
    stop = surface.check_stop(openai.get("stop"))
    prompt_tokens = _check_size(normalised, policy, tools)
    fmt = _check_response_format(response_format)
    privacy = check_privacy(
        policy,
        normalised,
        sensitive=bool(sensitive),
        tools=tools,
        stop=stop,
        other_fields=None if fmt is None else {"response_format": fmt},
    )
    max_tokens = surface.check_max_tokens_pair(max_tokens, openai.get("max_completion_tokens"))
    return RoutedRequest(
        request_id=_check_request_id(request_id),
        messages=normalised,
        sensitive=privacy.sensitive,
        policy=policy,
        frontier_messages=privacy.frontier_messages,
        redactions=privacy.redactions,
        pii_classes=privacy.classes,
        team=meta.pop("team", None),
        app=meta.pop("app", None),
        user=meta.pop("user", None),
        tags=meta,
        max_tokens=_check_max_tokens(max_tokens, policy),
        temperature=_check_temperature(temperature),
        response_format=fmt,
        token_count=prompt_tokens,
        verifiers=_check_verifiers(verifiers),
        model=surface.check_model(openai.get("model")),
        top_p=surface.check_top_p(openai.get("top_p")),
        stop=stop,
        seed=surface.check_seed(openai.get("seed")),
        tools=tools,
        tool_choice=surface.check_tool_choice(openai.get("tool_choice"), tools),
        frontier_tools=privacy.frontier_tools,
        frontier_stop=privacy.frontier_stop,
    )


def _refuse_unknown(unknown: Mapping[str, Any]) -> None:
    unknown = surface.refuse_openai_only(unknown)
    if not unknown:
        return
    names = ", ".join(sorted(unknown))
    if _REFUSED_ARGS & set(unknown):
        raise InvalidRequestError(
            f"{names}: endpoints and keys cannot be set per request (it would let a request "
            "redirect traffic); set them in the policy under frontier.models or local.host"
        )
    raise InvalidRequestError(
        f"unknown argument(s): {names}; accepted: prompt, messages, model, metadata, sensitive, "
        "max_tokens, max_completion_tokens, temperature, top_p, stop, seed, response_format, "
        "tools, tool_choice, user, request_id, verifiers"
    )


def _normalise_messages(
    prompt: str | None, messages: Sequence[Mapping[str, Any]] | None
) -> tuple[Message, ...]:
    if (prompt is None) == (messages is None):
        raise InvalidRequestError("pass exactly one of `prompt` (a string) or `messages` (a list)")
    if prompt is not None:
        messages = [{"role": "user", "content": prompt}]
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise InvalidRequestError("`messages` must be a list of {'role': ..., 'content': ...}")
    if not messages:
        raise InvalidRequestError("`messages` is empty; add at least one user message")
    result = tuple(_normalise_message(i, m) for i, m in enumerate(messages))
    if not any(m["role"] == "user" for m in result):
        raise InvalidRequestError("`messages` has no message with role 'user'")
    surface.check_tool_sequence(result)
    return result


def _normalise_message(index: int, message: Any) -> Message:
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        raise InvalidRequestError(f"{where} must be a dict with 'role' and 'content'")
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:  # not quoted: it could be the prompt
        raise InvalidRequestError(f"{where}.role must be one of {sorted(ROLES)}")
    fields = surface.message_tool_fields(where, role, message)
    for call in fields.get("tool_calls", ()):
        check_text(f"{where}.tool_calls.arguments", call["function"]["arguments"])
    raw = message.get("content")
    content = "" if raw is None and "tool_calls" in fields else _text_content(where, raw)
    content = check_text(f"{where}.content", content)
    if role == "user" and not content.strip():
        raise InvalidRequestError(f"{where} (user) has empty content")
    role = "system" if role == "developer" else role  # OpenAI's newer name for it
    return {"role": role, "content": content, **fields}


def _text_content(where: str, content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, bytes):
        texts = []
        for part in content:
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            if kind != "text" or not isinstance(part.get("text"), str):
                shown = repr(kind) if kind in _KNOWN_PARTS else "non-text"
                raise InvalidRequestError(
                    f"{where}.content has a {shown} part; only text parts are supported "
                    "(the local model takes text only)"
                )
            texts.append(part["text"])
        return "\n".join(texts)
    raise InvalidRequestError(f"{where}.content must be a string or a list of text parts")


def count_prompt_tokens(
    messages: Sequence[Message], tools: Sequence[Mapping[str, Any]] = ()
) -> int:
    """Exact prompt tokens of the messages (tool calls and tool definitions included), as
    `RoutedRequest.prompt_tokens` reports them."""
    texts = surface.outgoing_texts(messages, tools, ())
    return sum(estimate_tokens(t) for t in texts) + _PER_MESSAGE * len(messages)


def _check_size(
    messages: tuple[Message, ...], policy: Policy, tools: Sequence[Mapping[str, Any]] = ()
) -> int | None:
    """Refuse a prompt over the policy's limits or the local context; the exact token count if
    it had to be taken, None when an upper bound already settled that the prompt fits."""
    texts = surface.outgoing_texts(messages, tools, ())
    chars = sum(len(t) for t in texts)
    if chars > policy.limits.max_prompt_chars:
        raise PromptTooLongError(
            f"the prompt has {chars:,} characters, over the policy's limits.max_prompt_chars "
            f"({policy.limits.max_prompt_chars:,}); shorten it or raise the limit"
        )
    limit = min(policy.limits.max_prompt_tokens, policy.local.context_tokens)
    if sum(max_tokens_of(t) for t in texts) + _PER_MESSAGE * len(messages) <= limit:
        return None  # no count needed: even the upper bound fits
    tokens = count_prompt_tokens(messages, tools)
    if tokens > policy.limits.max_prompt_tokens:
        raise PromptTooLongError(
            f"the prompt is about {tokens:,} tokens, over the policy's limits.max_prompt_tokens "
            f"({policy.limits.max_prompt_tokens:,}); shorten it or raise the limit"
        )
    context = policy.local.context_tokens
    if tokens > context:
        raise PromptTooLongError(
            f"the prompt is about {tokens:,} tokens, over the local model's context of "
            f"{context:,} ({policy.local.model}); shorten or split it"
        )
    return tokens


def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError("`metadata` must be a dict of strings, e.g. {'team': 'support'}")
    check_metadata_bounds(metadata)  # first: keys are quoted below, so they must be short
    result: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidRequestError(f"metadata[{key!r}] must be a string key with a string value")
        if len(value) > _MAX_METADATA_VALUE:
            raise InvalidRequestError(f"metadata[{key!r}] is longer than {_MAX_METADATA_VALUE}")
        result[key] = value
    return result


def _check_request_id(request_id: str | None) -> str:
    if request_id is None:
        return uuid.uuid4().hex
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 128:
        raise InvalidRequestError("`request_id` must be a string of 1 to 128 characters")
    return check_text("`request_id`", request_id, stored=True)


def _check_max_tokens(max_tokens: int | None, policy: Policy) -> int | None:
    if max_tokens is None:
        return None
    limit = policy.limits.max_output_tokens
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not max_tokens > 0:
        raise InvalidRequestError("`max_tokens` must be a positive integer")
    if max_tokens > limit:
        raise InvalidRequestError(
            f"`max_tokens` {max_tokens} is over the policy's limits.max_output_tokens ({limit})"
        )
    return max_tokens


def _check_temperature(temperature: float | None) -> float | None:
    if temperature is None:
        return None
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise InvalidRequestError("`temperature` must be a number from 0 to 2")
    if not 0 <= temperature <= 2:
        raise InvalidRequestError("`temperature` must be from 0 to 2")
    return float(temperature)


def _check_response_format(fmt: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if not isinstance(kind, str) or kind not in _FORMATS:
        raise InvalidRequestError(
            "`response_format` must be {'type': 'text' | 'json_object' | 'json_schema', ...}"
        )
    check_json("`response_format`", fmt)
    if kind == "json_schema":
        surface.check_json_schema_format(fmt)
    return dict(fmt)


def _check_verifiers(verifiers: Sequence[Any] | None) -> tuple[Any, ...]:
    if verifiers is None:
        return ()
    if isinstance(verifiers, str | bytes) or not isinstance(verifiers, Sequence):
        raise InvalidRequestError("`verifiers` must be a list of verifiers or callables")
    for index, verifier in enumerate(verifiers):
        if not callable(verifier) and not hasattr(verifier, "verify"):
            raise InvalidRequestError(f"verifiers[{index}] is neither a verifier nor a callable")
    return tuple(verifiers)
