"""`router serve`: thin over `router.gateway.serve`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from router.gateway import ServeSettings


def register(group: click.Group) -> None:
    group.add_command(serve)


@click.command(short_help="Serve an OpenAI-compatible API that routes every request.")
@click.option("--policy", default=None, help="Policy file or shipped policy name.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--ledger", "ledger_url", default=None, help="Ledger URL (default: the policy's).")
@click.option("--demo", is_flag=True, help="Answer with the demo's simulated models.")
def serve(  # noqa: PLR0917 - click passes one argument per option
    policy: str | None, host: str, port: int, workers: int, ledger_url: str | None, demo: bool
) -> None:
    """Serve POST /v1/chat/completions, GET /v1/models, /healthz and /readyz.

    Point any OpenAI client at http://HOST:PORT/v1 with model "auto" (routed) or a configured
    model's name (pinned). Callers' keys come from the policy's gateway.keys; without any, it
    listens on loopback only. SIGTERM finishes in-flight requests first. See docs/serve.md.

    \b
    Examples:
      router serve --demo
      router serve --policy policies/default.yaml --host 0.0.0.0 --workers 2
      router serve --ledger postgresql+psycopg://router@db/ledger
    """
    from router import gateway  # noqa: PLC0415 - Starlette and uvicorn only when serving

    settings = gateway.ServeSettings(policy, host, port, workers, ledger_url, demo)
    click.echo(_banner(settings), err=True)
    gateway.serve(settings)


def _banner(settings: ServeSettings) -> str:
    models = "the demo's simulated models" if settings.demo else "the policy's models"
    return (
        f"router serve: http://{settings.host}:{settings.port}/v1 "
        f"(policy {settings.policy or 'default'}, {models}); Ctrl-C or SIGTERM to stop"
    )
