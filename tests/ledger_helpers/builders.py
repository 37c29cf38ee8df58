"""Records and database helpers shared by the ledger tests (fixtures are in fixtures.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from router._records import AttemptRecord, CapturedContent, RequestRecord
from router.ledger._engine import resolve_url
from router.ledger._schema import RequestRow

PG_ENV = "ROUTER_TEST_POSTGRES_URL"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return url


def fresh_pg_schema(base: str, extra_options: str = "") -> Iterator[str]:
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = f"-csearch_path={schema} {extra_options}".strip()
    url = make_url(base).update_query_dict({"options": options})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def attempt(
    tier: str = "frontier",
    tokens_in: int = 1000,
    tokens_out: int = 500,
    price_in: str = "2.5",
    price_out: str = "15",
    **kw: object,
) -> AttemptRecord:
    p_in, p_out = Decimal(price_in), Decimal(price_out)
    cost = (tokens_in * p_in + tokens_out * p_out) / Decimal(1_000_000)
    defaults: dict[str, object] = {
        "model": "gpt-5.4" if tier == "frontier" else "qwen3.5:9b",
        "provider": "openai" if tier == "frontier" else "ollama",
        "latency_ms": 900.0 if tier == "frontier" else 150.0,
        "outcome": "ok",
    }
    defaults.update(kw)
    return AttemptRecord(
        tier=tier,
        tokens_in=tokens_in,
        tokens_out=tokens_out,  # type: ignore[arg-type]
        cost_usd=cost,
        unit_price_in=p_in,
        unit_price_out=p_out,
        **defaults,
    )  # type: ignore[arg-type]


def make_record(
    request_id: str,
    *,
    attempts: Sequence[AttemptRecord] | None = None,
    created_at: datetime = T0,
    baseline: str = "0.0100",
    **kw: object,
) -> RequestRecord:
    """A consistent record: cost = sum of attempts, savings = baseline - cost."""
    atts = tuple(
        attempts if attempts is not None else (attempt("local", price_in="0", price_out="0"),)
    )
    cost = sum((a.cost_usd for a in atts), Decimal(0))
    local = sum((a.cost_usd for a in atts if a.tier == "local"), Decimal(0))
    last = atts[-1] if atts else None
    fields: dict[str, object] = {
        "policy_name": "default",
        "policy_version": "1",
        "status": "ok",
        "tier": last.tier if last else None,
        "model": last.model if last else None,
        "decision_rule": "threshold",
        "decision_score": 0.3,
        "decision_threshold": 0.5,
        "baseline_model": "gpt-5.4",
        "baseline_estimated": True,
        "price_table_version": "test-prices",
        "latency_ms": last.latency_ms if last else 1.0,
        "prompt_hash": "sha256:abc",
        "prompt_tokens_estimate": 1000,
        "team": "support",
        "app": "helpdesk",
        "user": "u-hash",
        "tags": {"env": "test"},
    }
    fields.update(kw)
    return RequestRecord(
        request_id=request_id,
        created_at=created_at,
        attempts=atts,  # type: ignore[arg-type]
        cost_usd=cost,
        local_cost_usd=local,
        baseline_cost_usd=Decimal(baseline),
        savings_usd=Decimal(baseline) - cost,
        **fields,
    )  # type: ignore[arg-type]


def escalated(request_id: str, **kw: object) -> RequestRecord:
    """Tried locally, then answered by the frontier model."""
    atts = (attempt("local", price_in="0", price_out="0", outcome="rejected"), attempt("frontier"))
    return make_record(request_id, attempts=atts, escalation_reason="low_confidence", **kw)


def with_content(request_id: str) -> RequestRecord:
    return make_record(request_id, content=CapturedContent(prompt="secret prompt", answer="42"))


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def table_rows(url: str, model: Any) -> list[Any]:
    """Every row of an ORM model's table, as mappings."""
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(model.__table__)).mappings())
    finally:
        engine.dispose()


def count_requests(url: str) -> tuple[int, int]:
    """(rows in `requests`, distinct request ids)."""
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(RequestRow)).scalar_one()
            ids = conn.execute(select(func.count(func.distinct(RequestRow.request_id))))
            return n, ids.scalar_one()
    finally:
        engine.dispose()
