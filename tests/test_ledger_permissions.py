"""A ledger holds spend by team and, with content capture, prompts: only its owner may read it.

The SQLite file (and the -wal and -shm files SQLite creates next to it) is 0600, and every folder
the ledger creates for it (and for its outbox) is 0700, whatever the process umask lets through.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.ledger import open_ledger
from router.ledger._engine import data_dir
from router.ledger._outbox import Outbox
from tests.ledger_helpers.builders import make_record


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The common 022: files would come out 0644 and folders 0755 unless created private."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_ledger_and_its_wal_files_are_private_in_private_folders(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)  # a folder the user made: not ours to change
    db = shared / "new" / "nested" / "ledger.db"
    ledger = open_ledger(f"sqlite:///{db}")
    try:
        ledger.record(make_record("r-1"))
        files = [db, db.with_name("ledger.db-wal"), db.with_name("ledger.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        ledger.close()
    assert _mode(shared / "new") == 0o700
    assert _mode(shared / "new" / "nested") == 0o700
    assert _mode(shared) == 0o755


def test_the_default_ledger_lives_in_a_private_data_folder(monkeypatch):
    monkeypatch.delenv("ROUTER_LEDGER_URL")
    ledger = open_ledger(None)
    try:
        ledger.record(make_record("r-1"))
    finally:
        ledger.close()
    assert _mode(data_dir()) == 0o700
    assert _mode(data_dir() / "ledger.db") == 0o600


def test_outbox_folders_and_files_are_private(tmp_path):
    outbox = Outbox(tmp_path / "outbox" / "0123abcd")
    outbox.append(make_record("r-1"))
    assert _mode(tmp_path / "outbox") == 0o700
    assert _mode(tmp_path / "outbox" / "0123abcd") == 0o700
    files = list((tmp_path / "outbox" / "0123abcd").iterdir())
    assert files and {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
