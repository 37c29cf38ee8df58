"""Suite-wide rules: no test may open a non-loopback connection; offline switches are set."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from router._offline import prepare_offline_environment
from router.testing import network_guard

prepare_offline_environment()
os.environ.setdefault("OPENAI_API_KEY", "sk-test-not-a-real-key")
os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Fail any test that tries to reach beyond 127.0.0.0/8 or ::1."""
    with network_guard():
        yield


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the default ledger and outbox out of the real user data directory."""
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("ROUTER_LEDGER_URL", f"sqlite:///{data / 'ledger.db'}")
