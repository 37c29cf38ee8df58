"""Builders for learning-loop tests: a router on the loopback servers with a SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from router import Router
from router.learning import LearningStore
from router.ledger import open_ledger
from router.ledger._schema import LearningAttemptRow, LearningLabelRow, LearningRequestRow
from router.policy import Ledger, Policy
from router.policy._model import Learning
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.support import loopback_policy

MC_PROMPT = "Which gas is inert?\nA. Oxygen\nB. Neon\nC. Chlorine\nD. Fluorine\nAnswer:"


def loopback_servers() -> Iterator[tuple[OllamaServer, OpenAIServer, AnthropicServer]]:
    """The three loopback servers."""
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


@pytest.fixture(name="servers")
def servers_fixture() -> Iterator[tuple[OllamaServer, OpenAIServer, AnthropicServer]]:
    """The three loopback servers, as the `servers` fixture (import it into a test module)."""
    yield from loopback_servers()


def learning_policy(servers: Any, tmp_path: Path, **learning: Any) -> Policy:
    """The loopback policy (short prompts local) with a SQLite ledger and `learning:` set.
    Verified labels are off unless a test sets them: their sample is a hash of the request id,
    which is random unless a test names it."""
    settings = {
        "shadow_rate": 1.0,
        "budget_usd_per_day": Decimal(5),
        "verified_label_rate": 0.0,
        **learning,
    }
    settings.setdefault("artefact_dir", str(tmp_path / "artefacts"))
    return loopback_policy(
        *servers,
        ledger=Ledger(url=f"sqlite:///{tmp_path / 'ledger.db'}"),
        learning=Learning(**settings),
    )


def learning_router(policy: Policy, **seams: Any) -> Router:
    seams.setdefault("classifier", None)
    return Router(policy, ledger=open_ledger(policy.ledger.url), **seams)


def table(router_or_url: Router | str, row: Any) -> list[dict[str, Any]]:
    """Every row of one learning table, as dicts."""
    if isinstance(router_or_url, Router):
        assert router_or_url.learning is not None
        return _rows(router_or_url.learning.store, row)
    store = LearningStore(router_or_url)
    try:
        return _rows(store, row)
    finally:
        store.close()


def _rows(store: LearningStore, row: Any) -> list[dict[str, Any]]:
    with store._connect().connect() as conn:
        return [dict(r) for r in conn.execute(select(row.__table__)).mappings()]


def labels(router: Router | str) -> list[dict[str, Any]]:
    return table(router, LearningLabelRow)


def kept(router: Router | str) -> list[dict[str, Any]]:
    return table(router, LearningRequestRow)


def learning_attempts(router: Router | str) -> list[dict[str, Any]]:
    return table(router, LearningAttemptRow)
