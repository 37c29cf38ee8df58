"""Row 7, continued: a NUL character never costs an answered request its ledger row.

PostgreSQL refuses NUL in text; SQLite keeps it. `metadata={"ticket": "T-1\\x00"}` was
accepted, the paid frontier answer returned, and PostgreSQL then refused the row (`DataError`):
it went to `rejected.jsonl` while `ledger verify` said OK. Now NUL is refused at validation in
every value the ledger stores as given (metadata keys and values, team/app/user, request_id),
identically on both databases; captured content, which holds the model's own text, keeps the
row with each NUL stored as U+2400 (the visible symbol for NUL); and `ledger verify` fails while
the outbox holds rejected records, saying how many and where.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from router import Router
from router._fakes import FakeClock
from router.cli import main
from router.errors import InvalidRequestError
from router.ledger import open_ledger, verify
from router.ledger._admin import upgrade_ledger
from router.testing import Reply
from tests.ledger_helpers.builders import fresh_pg_schema, pg_base_url
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT
from tests.test_ledger_durability import ids_in

pytestmark = pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning")

NUL = "\x00"
REFUSED: dict[str, dict[str, Any]] = {
    "metadata value": {"metadata": {"ticket": "T-1" + NUL}},
    "metadata key": {"metadata": {"tic" + NUL: "T-1"}},
    "team": {"metadata": {"team": "sup" + NUL}},
    "app": {"metadata": {"app": NUL}},
    "user": {"metadata": {"user": "u" + NUL}},
    "request_id": {"request_id": "req-" + NUL},
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    for url in fresh_pg_schema(pg_base_url()):
        upgrade_ledger(url)
        yield url


def _router(servers: Servers, url: str, outbox: Path, *, capture: bool = False) -> Router:
    policy = policy_for(servers, privacy={"capture_content": capture})
    ledger = open_ledger(url, outbox_dir=outbox)
    return Router(policy, ledger=ledger, clock=FakeClock(), classifier=None)


def test_nul_in_stored_values_is_refused_before_any_call(
    servers: Servers, ledger_url: str, tmp_path: Path
) -> None:
    router = _router(servers, ledger_url, tmp_path / "outbox")
    for what, kwargs in REFUSED.items():
        with pytest.raises(InvalidRequestError, match="NUL"):
            router.complete(LONG_PROMPT, **kwargs)
        assert sum(len(s.requests) for s in servers) == 0, what
    answer = router.complete(LONG_PROMPT, metadata={"ticket": "T-1"})
    router.close()
    backend = ledger_url.split(":", 1)[0].split("+", maxsplit=1)[0]
    stored = ids_in(ledger_url)
    ok = stored == {answer.request_id} and verify(ledger_url, outbox_dir=tmp_path / "outbox").ok
    record(
        7,
        f"NUL in stored values ({backend})",
        f"{len(REFUSED)}/{len(REFUSED)} refused before any call; answered rows stored "
        f"{len(stored)}/1",
        "refused; no answered request without its row",
        ok,
    )
    assert ok


def test_nul_in_captured_content_keeps_the_row(
    servers: Servers, ledger_url: str, tmp_path: Path
) -> None:
    _, openai, _ = servers
    openai.script(Reply(text="the answer\x00with a NUL"))
    router = _router(servers, ledger_url, tmp_path / "outbox", capture=True)
    answer = router.complete(LONG_PROMPT + NUL)
    router.close()
    assert answer.text == "the answer\x00with a NUL"  # the caller gets the model's text as is
    assert ids_in(ledger_url) == {answer.request_id}
    assert not (tmp_path / "outbox" / "rejected.jsonl").exists()
    assert verify(ledger_url, outbox_dir=tmp_path / "outbox").ok


def test_verify_fails_while_rejected_records_exist(tmp_path: Path) -> None:
    url, outbox = f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "outbox"
    open_ledger(url, outbox_dir=outbox).close()
    outbox.mkdir(exist_ok=True)
    (outbox / "pending.jsonl").write_text('{"torn": \n')  # a line cut by a crash mid-append
    runner = CliRunner()
    flushed = runner.invoke(main, ["ledger", "flush", "--ledger", url, "--outbox", str(outbox)])
    assert "rejected 1" in flushed.output
    checked = runner.invoke(main, ["ledger", "verify", "--ledger", url, "--outbox", str(outbox)])
    ok = checked.exit_code == 1 and "1 record(s)" in checked.output
    record(
        7,
        "ledger verify with rejected records in the outbox",
        f"exit {checked.exit_code}",
        "exit 1, naming how many and where",
        ok,
    )
    assert ok, checked.output
    assert str(outbox / "rejected.jsonl") in checked.output
    assert not verify(url, outbox_dir=outbox).ok
