"""A FastAPI endpoint that answers through the router with `await router.acomplete`.

What it shows: one `Router` per application, opened in FastAPI's lifespan and closed on
shutdown; an async endpoint that passes the caller's team for per-team policy and reporting;
a response that tells the client where the answer came from and what it cost; router errors
mapped to HTTP status codes without leaking prompt text.

How to run it (needs fastapi: pip install -e '.[examples]'). As a script it serves the app
in-process with FastAPI's TestClient, against loopback servers standing in for the models:

    .venv/bin/python examples/fastapi_endpoint.py

In production, build the app with real models and serve it with any ASGI server:

    app = create_app(lambda: Router("policies/default.yaml"))

What it prints: each request's HTTP status and JSON answer (tier, model, reason, cost), then
"fastapi endpoint: OK".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from router import InvalidRequestError, Router, RouterError, SensitiveDataError, load_policy
from router.demo import simulated_models
from router.testing import load_demo_workload


class Ask(BaseModel):
    prompt: str = Field(min_length=1, max_length=100_000)
    team: str = "default"


class Answer(BaseModel):
    text: str
    tier: str
    model: str
    reason: str
    cost_usd: str  # Decimal as text: exact, as in the ledger
    savings_usd: str


def create_app(make_router: Callable[[], Router]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.router = make_router()
        await app.state.router.awarm_up()  # litellm's import etc. now, not in the first request
        yield
        await app.state.router.aclose()

    app = FastAPI(title="answers", lifespan=lifespan)

    @app.post("/v1/answer")
    async def answer(ask: Ask, request: Request) -> Answer:
        router: Router = request.app.state.router
        try:
            res = await router.acomplete(ask.prompt, metadata={"team": ask.team, "app": "api"})
        except InvalidRequestError as exc:
            raise HTTPException(422, str(exc)) from exc
        except SensitiveDataError as exc:
            raise HTTPException(503, "the local model is unavailable for this request") from exc
        except RouterError as exc:  # messages hold no prompt text; still, keep them server-side
            raise HTTPException(502, type(exc).__name__) from exc
        return Answer(
            text=res.text,
            tier=res.tier,
            model=res.model,
            reason=res.decision.reason,
            cost_usd=str(res.cost_usd),
            savings_usd=str(res.savings_usd),
        )

    return app


def main() -> None:
    workload = load_demo_workload()[:3]
    with simulated_models(workload) as models:
        policy = models.wire(load_policy("default"))
        app = create_app(lambda: Router(policy, ledger=None))
        with TestClient(app) as client:
            replies = [
                client.post("/v1/answer", json={"prompt": item.prompt, "team": "support"})
                for item in workload
            ]
            bad = client.post("/v1/answer", json={"prompt": ""})
    for reply in replies:
        body = reply.json()
        print(reply.status_code, body["tier"], body["model"], body["reason"], body["cost_usd"])
    print(bad.status_code, "for an empty prompt")
    assert all(r.status_code == 200 for r in replies) and bad.status_code == 422
    print("fastapi endpoint: OK")


if __name__ == "__main__":
    main()
