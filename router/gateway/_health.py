"""Readiness: the local model answers its listing and has the model, and the ledger's database
takes a write transaction. Each check says what is wrong (never a key), within a time limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from router.backends import Backend, OllamaBackend
from router.errors import RouterError

if TYPE_CHECKING:
    from router.ledger import Ledger

Check = Callable[[], Awaitable[str]]
CHECK_TIMEOUT_S = 3.0
OK = "ok"


def readiness_checks(local: Backend, ledger: Ledger | None) -> dict[str, Check]:
    """The checks `GET /readyz` runs: name -> coroutine returning "ok" or the problem."""

    async def local_model() -> str:
        if not isinstance(local, OllamaBackend):
            return OK  # a custom backend: nothing generic to ask it
        await local.check_ready()
        return OK

    async def ledger_writable() -> str:
        if ledger is None:
            return "disabled (ledger.enabled is false)"
        return await asyncio.to_thread(_writable, ledger)

    return {"local_model": local_model, "ledger": ledger_writable}


async def run_checks(checks: dict[str, Check]) -> dict[str, str]:
    results = await asyncio.gather(*(_bounded(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


async def _bounded(check: Check) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await check()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g} s"
    except RouterError as exc:
        return f"{type(exc).__name__}: {exc}"


def _writable(ledger: Ledger) -> str:
    """Open a write transaction (SQLite takes its write lock) on the ledger's tables."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - SQLAlchemy only with a ledger

    from router.ledger import SQLLedger  # noqa: PLC0415
    from router.ledger._engine import display_url, write_engine  # noqa: PLC0415

    if not isinstance(ledger, SQLLedger):
        return OK  # an in-memory or custom ledger
    try:
        with write_engine(ledger.engine).begin() as conn:
            conn.exec_driver_sql("SELECT 1 FROM requests WHERE 1 = 0")
            if conn.dialect.name == "postgresql":
                state = conn.exec_driver_sql("SHOW transaction_read_only").scalar()
                if state == "on":
                    return f"{display_url(ledger.engine.url)} is read-only"
    except SQLAlchemyError as exc:
        return f"{display_url(ledger.engine.url)}: {type(exc).__name__}; run `router db upgrade`?"
    return OK
