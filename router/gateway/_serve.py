"""Run the gateway: build its state from settings (a policy, a ledger, the demo's simulated
models), refuse to listen beyond loopback without keys, and hand the app to uvicorn."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from router._router import Router
from router.backends import OllamaBackend
from router.errors import ConfigError
from router.gateway._app import GatewayState, StateFactory, create_app
from router.gateway._auth import KeyRing
from router.gateway._health import readiness_checks
from router.policy import Policy, load_policy

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from router.ledger import SQLLedger

log = logging.getLogger("router")
SETTINGS_ENV = "ROUTER_SERVE_SETTINGS"  # how `--workers N` hands the settings to each worker


@dataclass(frozen=True)
class ServeSettings:
    """What `router serve` was asked for."""

    policy: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    ledger: str | None = None
    demo: bool = False


def gateway_state(settings: ServeSettings) -> StateFactory:
    """The app's state, built at startup on the server's event loop and closed at shutdown."""

    @asynccontextmanager
    async def state() -> AsyncIterator[GatewayState]:
        with ExitStack() as stack:
            policy = effective_policy(settings, stack)
            keys = KeyRing.from_policy(policy.gateway)
            ledger = _open_ledger(policy)
            local = OllamaBackend(
                policy.local.model,
                policy.local.host,
                connect_timeout_s=policy.local.connect_timeout_s,
                read_timeout_s=policy.local.read_timeout_s,
            )
            router = Router(policy, local=local, ledger=ledger)
            try:
                await router.awarm_up()  # litellm's import and clients load before serving
                checks = readiness_checks(local, ledger)
                yield GatewayState(router, keys, policy.gateway, checks)
            finally:
                await router.aclose()
                router.close()

    return state


def effective_policy(settings: ServeSettings, stack: ExitStack) -> Policy:
    """The policy to serve: `--demo` points it at simulated models (started on `stack`), and
    `--ledger` replaces its ledger URL (the budget store follows the ledger)."""
    policy = load_policy(settings.policy)
    if settings.demo:
        from router.demo import simulated_models  # noqa: PLC0415 - the demo only when asked
        from router.testing import load_demo_workload  # noqa: PLC0415

        policy = stack.enter_context(simulated_models(load_demo_workload())).wire(policy)
    if settings.ledger:
        data = policy.model_dump(exclude_unset=True)
        data["ledger"] = {**data.get("ledger", {}), "url": settings.ledger}
        policy = Policy.model_validate(data)
    return policy


def _open_ledger(policy: Policy) -> SQLLedger | None:
    if not policy.ledger.enabled:
        return None
    from router.ledger import open_ledger  # noqa: PLC0415 - SQLAlchemy only when recording

    return open_ledger(policy.ledger.url, durability=policy.ledger.durability)


def check_binding(settings: ServeSettings, keys: KeyRing) -> None:
    """Without keys anyone who can connect may spend the budgets: loopback only."""
    if keys.open and not is_loopback(settings.host):
        raise ConfigError(
            f"the policy has no gateway.keys, so the gateway would answer anyone who can reach "
            f"{settings.host}; it only listens on loopback without keys. Add keys (docs/serve.md) "
            "or use --host 127.0.0.1"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: ServeSettings) -> None:
    """Serve until SIGTERM or Ctrl-C: uvicorn stops accepting, lets in-flight requests finish
    (and write their ledger rows) for up to `gateway.shutdown_grace_s`, then closes the router."""
    import uvicorn  # noqa: PLC0415 - the server only when serving

    with ExitStack() as stack:  # checked here too, so a bad setting fails before binding
        policy = effective_policy(settings, stack)
    check_binding(settings, KeyRing.from_policy(policy.gateway))
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "lifespan": "on",
        "access_log": False,
        "timeout_graceful_shutdown": int(policy.gateway.shutdown_grace_s),
        "server_header": False,
    }
    if settings.workers == 1:
        uvicorn.Server(uvicorn.Config(create_app(gateway_state(settings)), **options)).run()
        return
    os.environ[SETTINGS_ENV] = json.dumps(asdict(settings))
    target = "router.gateway._serve:app_from_environment"
    uvicorn.run(target, factory=True, workers=settings.workers, **options)


def app_from_environment() -> Starlette:
    """The app of one `--workers` process, from the settings the parent left in the env."""
    settings = ServeSettings(**json.loads(os.environ[SETTINGS_ENV]))
    return create_app(gateway_state(settings))
