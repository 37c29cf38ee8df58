"""Row 8, continued: a SQLite ledger on read-only media.

`Router()` with its ledger on a read-only file system failed with `OSError: [Errno 30] ...
.writelock` from the write gate, and `router report` / `router ledger verify` could not read
such a ledger (opening it switched it to WAL, a write). Now the router opens, warns, and keeps
its records in the outbox (replayed by `router ledger flush` once the ledger is writable), as
for a database that is down; reading commands open the file read-only (`mode=ro`, or
`immutable=1` when it has no write-ahead log to read).

The read-only medium is a read-only bind mount (needs root, as on CI; skipped otherwise).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from router import Router
from router._fakes import FakeClock
from router.cli import main
from router.ledger import open_ledger, summarize, verify
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, SHORT_PROMPT

pytestmark = pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning")


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder, made read-only once the test has filled it: call `seal()` on the result."""
    folder = tmp_path / "media"
    folder.mkdir()
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True, check=False)


def _seal(folder: Path) -> None:
    if not (
        _mount("--bind", str(folder), str(folder)) and _mount("-o", "remount,bind,ro", str(folder))
    ):
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)
        pytest.skip("cannot make a read-only bind mount here (needs root)")
    with pytest.raises(OSError, match="Read-only file system"):
        (folder / "probe").write_text("x")


def _router(servers: Servers, url: str, outbox: Path) -> Router:
    policy = policy_for(servers)
    return Router(
        policy, ledger=open_ledger(url, outbox_dir=outbox), clock=FakeClock(), classifier=None
    )


def _fill(servers: Servers, url: str, outbox: Path) -> list[Any]:
    router = _router(servers, url, outbox)
    answers = [router.complete(p) for p in (SHORT_PROMPT, LONG_PROMPT)]
    router.close()
    return answers


def test_a_router_on_read_only_media_keeps_its_records_in_the_outbox(
    servers: Servers, read_only: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, outbox = f"sqlite:///{read_only / 'ledger.db'}", tmp_path / "outbox"
    _fill(servers, url, outbox)
    _seal(read_only)
    router = _router(servers, url, outbox)  # raised OSError [Errno 30] before
    answer = router.complete(SHORT_PROMPT)
    router.close()
    pending = (outbox / "pending.jsonl").read_text().count(answer.request_id)
    ok = pending == 1 and "read-only" in caplog.text
    record(
        8,
        "Router() with its SQLite ledger on read-only media",
        f"request answered; its record kept in the outbox ({pending})",
        "no OSError; the record kept for replay",
        ok,
    )
    assert ok


def test_report_and_verify_read_a_ledger_on_read_only_media(
    servers: Servers, read_only: Path, tmp_path: Path
) -> None:
    url, outbox = f"sqlite:///{read_only / 'ledger.db'}", tmp_path / "outbox"
    answers = _fill(servers, url, outbox)
    _seal(read_only)
    runner = CliRunner()
    report = runner.invoke(main, ["report", "--ledger", url])
    checked = runner.invoke(main, ["ledger", "verify", "--ledger", url, "--outbox", str(outbox)])
    ok = report.exit_code == 0 and checked.exit_code == 0
    record(
        8,
        "router report / ledger verify on read-only media",
        f"exit {report.exit_code} / {checked.exit_code}",
        "0 / 0",
        ok,
    )
    assert ok, report.output + checked.output
    assert "checked 2 request(s)" in checked.output
    assert summarize(url).total.requests == len(answers)
    assert verify(url, outbox_dir=outbox).ok
    assert sorted(p.name for p in read_only.iterdir()) == ["ledger.db", "ledger.db.writelock"]
