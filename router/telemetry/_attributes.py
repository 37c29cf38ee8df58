"""Span attributes built from the router's own objects. None of them carries content.

OpenTelemetry attributes cannot be None or Decimal: unknown values are left out, and money
(USD, `Decimal` in the router) is written as a float.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opentelemetry.util.types import AttributeValue

from router.telemetry._names import OPERATION_CHAT, provider_name

if TYPE_CHECKING:
    from router._completion import Decision
    from router._records import RequestRecord
    from router._request import RoutedRequest
    from router.backends._base import Backend, ModelRequest, ModelResponse
    from router.policy import Policy

Attributes = dict[str, AttributeValue]
Value = AttributeValue | None
BUILT_MAX = 4096  # distinct attribute sets kept per cache (teams, models and settings are few)


def known(values: Mapping[str, AttributeValue | None]) -> Attributes:
    """`values` without the ones that are None (OpenTelemetry refuses None)."""
    return {key: value for key, value in values.items() if value is not None}


def known_pair(first: str, second: str) -> Callable[[Value, Value], Attributes]:
    """A builder of `{first: a, second: b}` without the values that are None."""
    return lambda a, b: known({first: a, second: b})


def request_attributes(request: RoutedRequest, policy: Policy) -> Attributes:
    attributes: Attributes = {
        "gen_ai.operation.name": OPERATION_CHAT,
        "router.policy.name": policy.name,
        "router.policy.version": policy.version,
        "router.request_id": request.request_id,
    }
    if request.team is not None:
        attributes["router.team"] = request.team
    if request.app is not None:
        attributes["router.app"] = request.app
    attributes["router.sensitive"] = request.sensitive
    return attributes


def decision_attributes(decision: Decision) -> Attributes:
    return known(
        {
            "router.tier": decision.tier,
            "router.decision.rule": decision.rule,
            "router.score": decision.score,
            "router.threshold": decision.threshold,
        }
    )


def outcome_attributes(record: RequestRecord) -> Attributes:
    return known(
        {
            "router.status": record.status,
            "router.tier": record.tier,
            "router.model": record.model,
            "router.escalated": record.escalation_reason is not None,
            "router.escalation_reason": record.escalation_reason,
            "router.verification": record.verification,
            "router.cost_usd": float(record.cost_usd),
            "router.baseline_cost_usd": float(record.baseline_cost_usd),
            "router.savings_usd": float(record.savings_usd),
            # usage reported beyond the budget reservation (see AttemptRecord.over_reservation)
            "router.over_reservation": any(a.over_reservation for a in record.attempts) or None,
        }
    )


def attempt_attributes(backend: Backend, request: ModelRequest) -> Attributes:
    return known(
        {
            "gen_ai.operation.name": OPERATION_CHAT,
            "gen_ai.provider.name": provider_name(backend.provider),
            "gen_ai.request.model": backend.model,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
            "router.tier": backend.tier,
            **server_attributes(backend),
        }
    )


class AttemptStarts:
    """The name and start attributes of `chat {model}` spans, built once per backend and
    request settings (a handful per router) instead of once per attempt. The SDK copies the
    attributes it is given, so one dict serves every span."""

    def __init__(self) -> None:
        self._built: dict[tuple[int, Value, Value], tuple[Backend, str, Attributes]] = {}

    def __call__(self, backend: Backend, request: ModelRequest) -> tuple[str, Attributes]:
        key = (id(backend), request.max_tokens, request.temperature)
        found = self._built.get(key)
        if found is None or found[0] is not backend:  # `is`: an id may be reused
            if len(self._built) >= BUILT_MAX:  # many settings: start over, stay bounded
                self._built.clear()
            name = f"{OPERATION_CHAT} {backend.model}"
            found = self._built[key] = (backend, name, attempt_attributes(backend, request))
        return found[1], found[2]


def response_attributes(response: ModelResponse) -> Attributes:
    return {
        "gen_ai.response.model": response.model,
        "gen_ai.usage.input_tokens": response.input_tokens,
        "gen_ai.usage.output_tokens": response.output_tokens,
        "gen_ai.response.finish_reasons": (response.finish_reason,),
    }


def server_attributes(backend: Backend) -> Attributes:
    """`server.address`/`server.port` from a backend's public `host` or `api_base` URL, if any.

    Only the host and port are kept: a URL's user, password, path and query never are.
    """
    url = getattr(backend, "host", None) or getattr(backend, "api_base", None)
    return dict(_server_of(url)) if isinstance(url, str) else {}


@functools.lru_cache(maxsize=64)
def _server_of(url: str) -> tuple[tuple[str, AttributeValue], ...]:
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
        port = parts.port
    except ValueError:
        return ()
    return tuple(known({"server.address": parts.hostname, "server.port": port}).items())
