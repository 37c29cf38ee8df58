"""OpenTelemetry for the router: a `route` span per request, a `chat {model}` span per model
attempt, `gen_ai.*` and `router.*` metrics. Content (prompts, answers) stays out unless asked.

    telemetry = Telemetry()                      # global providers; no-op without an SDK
    with telemetry.request(request, policy) as t:
        with t.stage("router.score"):
            decision = decide(...)
        t.set_decision(decision)
        with t.attempt(backend, model_request) as a:
            a.set_response(await backend.complete(model_request))
        t.finish(record)

See docs/telemetry.md for every span, attribute and metric.
"""

from router.telemetry._console import configure_console, service_resource
from router.telemetry._content import CAPTURE_ENV_VAR, capture_content_from_env
from router.telemetry._telemetry import Telemetry
from router.telemetry._trace import AttemptTrace, RequestTrace

__all__ = [
    "CAPTURE_ENV_VAR",
    "AttemptTrace",
    "RequestTrace",
    "Telemetry",
    "capture_content_from_env",
    "configure_console",
    "service_resource",
]
