"""Rows for the report tests: two months, several teams, apps and tiers, an error and
sub-cent baselines. `write_mixed(url, outbox)` records them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from router.ledger import open_ledger
from tests.ledger_helpers.builders import escalated, make_record

JAN, FEB = datetime(2025, 1, 5, 9, tzinfo=UTC), datetime(2025, 2, 2, 9, tzinfo=UTC)


def write_mixed(ledger_url: str, outbox_dir: Path) -> str:
    """Two months, teams a/b/c and none, apps x/y, both tiers, an error, sub-cent baselines."""
    records = [
        make_record("j1", created_at=JAN, team="a", app="x", baseline="0.004"),
        escalated("j2", created_at=JAN.replace(day=6), team="a", app="y", baseline="0.0125"),
        escalated("j3", created_at=JAN.replace(day=20), team="b", app="x", verification="failed"),
        make_record(
            "f1",
            attempts=(),
            status="error",
            tier=None,
            model=None,
            team=None,
            created_at=FEB,
            baseline="0",
            baseline_estimated=False,
        ),
        make_record("f2", created_at=FEB.replace(day=3), team="b", app="y", baseline="0.0151"),
        escalated("f3", created_at=FEB.replace(day=4), team="a", app="x", baseline="0.0105"),
        *(
            make_record(f"c{i}", created_at=FEB.replace(day=10), team="c", baseline="0.0049")
            for i in range(3)
        ),
    ]
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        for record in records:
            ledger.record(record)
    return ledger_url
