"""`router serve`: an OpenAI-compatible HTTP gateway in front of a `Router`.

Any OpenAI client points its base URL at it (`http://HOST:8000/v1`) and gets routed answers:
`POST /v1/chat/completions` (JSON and server-sent events), `GET /v1/models`, `GET /healthz`,
`GET /readyz`. Keys come from the policy's `gateway:` section; see docs/serve.md.
"""

from router.gateway._app import GatewayState, create_app
from router.gateway._auth import Caller, KeyRing
from router.gateway._serve import ServeSettings, gateway_state, serve

__all__ = [
    "Caller",
    "GatewayState",
    "KeyRing",
    "ServeSettings",
    "create_app",
    "gateway_state",
    "serve",
]
