"""`Telemetry`: the tracer, the instruments and the content switch, built once per router."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import metrics, trace

from router.telemetry._attributes import AttemptStarts
from router.telemetry._content import capture_content_from_env
from router.telemetry._counters import counters_for
from router.telemetry._metrics import Instruments
from router.telemetry._trace import RequestTrace

if TYPE_CHECKING:
    from router._request import RoutedRequest
    from router.policy import Policy

SCOPE_NAME = "router"


class Telemetry:
    """OpenTelemetry spans and metrics for routed requests.

    Uses the global tracer and meter providers unless given others. With no SDK configured
    those are the API's no-op providers, and recording costs next to nothing.
    `capture_content=None` reads $OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT; pass True
    when the policy turns capture on. Sensitive requests never have their content recorded.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_content: bool | None = None,
    ) -> None:
        scope_version = _package_version()
        tracer_provider = tracer_provider or trace.get_tracer_provider()
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(
            SCOPE_NAME, scope_version
        )
        self._tracer = tracer_provider.get_tracer(SCOPE_NAME, scope_version)
        self._instruments = Instruments(meter, counters_for(meter_provider, meter))
        self._starts = AttemptStarts()
        self.capture_content = (
            capture_content_from_env() if capture_content is None else capture_content
        )

    def request(
        self, request: RoutedRequest, policy: Policy, *, activate: bool = True
    ) -> RequestTrace:
        """The root `route` span for one request, as a context manager; an exception escaping
        the block marks it failed. Pass `activate=False` when the block spans an async
        generator's `yield`s (streaming)."""
        return RequestTrace(
            self._tracer,
            self._instruments,
            request,
            policy,
            capture_content=self.capture_content and not request.sensitive,
            activate=activate,
            starts=self._starts,
        )

    def budget_burn(self, team: str, fraction: float) -> None:
        """Record the fraction (0.0 = none, 1.0 = all) of `team`'s budget spent this period."""
        self._instruments.record_budget_burn(team, fraction)


def _package_version() -> str:
    from router import __version__  # noqa: PLC0415 - at call time: `router` imports this module

    return __version__
