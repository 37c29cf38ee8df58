"""A fleet: three `router serve` replicas on loopback ports share one PostgreSQL ledger and budget
store. Concurrent clients spread over them overshoot a team's cap by at most one request's
maximum cost, every request lands in the one ledger, and `router report` sees them all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from router.cli import main
from router.ledger._admin import upgrade_ledger
from router.ledger._schema import BudgetWindowRow, RequestRow
from router.pricing import load_price_table
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.gateway_helpers import KEYS, Gateway, policy_data, start_gateway
from tests.ledger_helpers.builders import fresh_pg_schema, pg_base_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CAP = Decimal("0.0020")
REPLICAS, REQUESTS, CLIENTS, MAX_TOKENS = 3, 48, 12, 40
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def ledger_url() -> Iterator[str]:
    for url in fresh_pg_schema(pg_base_url()):
        upgrade_ledger(url)
        yield url


@pytest.fixture
def fleet(ledger_url: str, tmp_path: Path) -> Iterator[list[Gateway]]:
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        policy = policy_data(
            o,
            oa,
            an,
            gateway={
                "keys": [
                    {"env": "GW_KEY_SUPPORT", "team": "fleet"},
                    {"env": "GW_KEY_HASTY", "team": "warm-up"},
                ]
            },
            budgets={"teams": {"fleet": {"daily_usd": str(CAP)}}},
        )
        replicas: list[Gateway] = []
        try:
            for index in range(REPLICAS):
                folder = tmp_path / f"replica{index}"
                folder.mkdir()
                replicas.append(start_gateway(folder, policy, "--ledger", ledger_url))
            yield replicas
        finally:
            for replica in replicas:
                replica.stop()


def _ask(replica: Gateway) -> int:
    with replica.client(KEYS["GW_KEY_SUPPORT"]) as sdk:
        try:
            sdk.chat.completions.create(model="gpt-5.4", messages=HELLO, max_tokens=MAX_TOKENS)
        except openai.RateLimitError:
            return 429
    return 200


def test_replicas_share_one_ledger_and_hold_the_budget_across_them(fleet, ledger_url):
    for replica in fleet:  # each loads litellm on its first frontier call: not on the budget
        with replica.client(KEYS["GW_KEY_HASTY"]) as sdk:
            sdk.chat.completions.create(model="gpt-5.4", messages=HELLO, max_tokens=MAX_TOKENS)
    targets = [fleet[i % REPLICAS] for i in range(REQUESTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(_ask, targets))
    assert statuses.count(200) >= 1 and statuses.count(429) >= 1, statuses

    engine = create_engine(ledger_url)
    with Session(engine) as db:
        rows = db.scalars(select(RequestRow).where(RequestRow.team == "fleet")).all()
    assert len(rows) == REQUESTS  # every replica wrote every request it took, once
    assert sum(1 for r in rows if r.status == "ok") == statuses.count(200)
    spent = sum((r.cost_usd for r in rows), Decimal(0))
    one_request_at_most = load_price_table().cost("gpt-5.4", 200, MAX_TOKENS)
    assert spent <= CAP + one_request_at_most
    # ... where the load, unchecked (or with a budget per replica), would have spent more
    assert REQUESTS * max(r.cost_usd for r in rows) > CAP + one_request_at_most
    with Session(engine) as db:
        window = db.scalars(select(BudgetWindowRow)).one()  # warm-up has no cap: fleet's only
    engine.dispose()
    assert (window.spent_usd, window.reserved_usd) == (spent, 0)

    report = CliRunner().invoke(
        main, ["report", "--ledger", ledger_url, "--group-by", "team", "--format", "json"]
    )
    assert report.exit_code == 0, report.output
    teams = {row["key"]: row for row in json.loads(report.stdout)["rows"]}
    assert teams["fleet"]["requests"] == REQUESTS
    assert teams["fleet"]["errors"] == statuses.count(429)
    assert Decimal(teams["fleet"]["cost_usd_exact"]) == spent
    assert teams["warm-up"]["requests"] == REPLICAS
