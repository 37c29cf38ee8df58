"""SDK providers that print spans and metrics, for `router demo --otel console`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

DEFAULT_SERVICE_NAME = "cost-router"


def configure_console(
    out: TextIO | None = None, *, metric_interval_s: float = 60.0
) -> tuple[TracerProvider, MeterProvider]:
    """Tracer and meter providers writing to `out` (stdout by default).

    Spans print as each ends; metrics every `metric_interval_s` and once more at shutdown. The
    caller passes the providers to `Telemetry` (or `Router`) and calls `.shutdown()` on both at
    the end. The global providers are not touched.
    """
    # The SDK is imported here, not at module import: `import router` stays cheap.
    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import (  # noqa: PLC0415
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    stream = sys.stdout if out is None else out
    resource = service_resource()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=stream)))
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(out=stream), export_interval_millis=metric_interval_s * 1000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return tracer_provider, meter_provider


def service_resource() -> Resource:
    """The SDK's detected resource ($OTEL_SERVICE_NAME, $OTEL_RESOURCE_ATTRIBUTES), with
    `service.name` defaulting to "cost-router" instead of "unknown_service"."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415

    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected
