"""Row 5: the frontier answers, then the connection drops before the body ends.

The provider may have billed the call, but we never saw its usage. Figure: the ledger row of
such a request exists once, with the dropped attempt marked `possibly_billed` (cost 0, since the
usage is unknown), and the request's cost counts only the answer we did receive.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from router import Router
from router._fakes import FakeClock
from router.errors import RouterError
from router.ledger import open_ledger, verify
from router.ledger._schema import AttemptRow, RequestRow
from router.testing import Reply, Usage
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT

ANSWER = "A long frontier answer that will be cut off halfway through its body. " * 20


def _rows(url: str) -> tuple[list[RequestRow], list[AttemptRow]]:
    engine = sa.create_engine(url)
    with Session(engine) as db:
        requests = list(db.scalars(sa.select(RequestRow)))
        attempts = list(db.scalars(sa.select(AttemptRow).order_by(AttemptRow.seq)))
    engine.dispose()
    return requests, attempts


@pytest.mark.parametrize("drop", ["mid_body", "after_headers"])
def test_dropped_body_is_recorded_once_as_possibly_billed(
    servers: Servers, tmp_path, drop: str
) -> None:
    _, openai, _ = servers
    openai.script(Reply(text=ANSWER, drop=drop), Reply(text="whole", usage=Usage(100, 10)))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    router = Router(
        policy_for(servers), ledger=open_ledger(url), clock=FakeClock(), classifier=None
    )
    res = router.complete(LONG_PROMPT)
    router.close()

    requests, attempts = _rows(url)
    assert res.text == "whole" and len(requests) == 1
    assert [(a.outcome, bool(a.possibly_billed)) for a in attempts] == [
        ("error", True),
        ("ok", False),
    ]
    checked = verify(url)  # `router ledger verify`: every row recomputes from its attempts
    assert checked.ok and checked.requests == 1, checked.problems
    # GPT-5.4 at $2.50 / $15 per million tokens: only the answer received is counted.
    assert requests[0].cost_usd == Decimal("0.00025") + Decimal("0.00015") == res.cost_usd
    flagged = sum(bool(a.possibly_billed) for a in attempts)
    record(
        5,
        f"billed then dropped ({drop}), non-streaming",
        f"rows {len(requests)}, possibly_billed attempts {flagged}, cost counted once",
        "1 row, flagged, not double-counted",
        True,
    )


def test_dropped_stream_is_recorded_once_as_possibly_billed(servers: Servers, tmp_path) -> None:
    _, openai, _ = servers
    openai.script(Reply(text=ANSWER, drop="mid_body"))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    router = Router(
        policy_for(servers), ledger=open_ledger(url), clock=FakeClock(), classifier=None
    )
    received = []
    with pytest.raises(RouterError):
        for chunk in router.stream(LONG_PROMPT):
            received.append(chunk.text)
    router.close()

    requests, attempts = _rows(url)
    assert "".join(received) and len(requests) == 1 and requests[0].status == "error"
    assert [(a.outcome, bool(a.possibly_billed)) for a in attempts] == [("error", True)]
    assert verify(url).ok
    record(
        5,
        "billed then dropped mid-stream",
        f"rows {len(requests)}, possibly_billed attempts {len(attempts)}, status error",
        "1 row, flagged",
        True,
    )
