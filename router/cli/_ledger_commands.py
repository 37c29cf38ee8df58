"""`router db`, `router ledger` and `router report`: thin wrappers over `router.ledger`.

Nothing here imports litellm: finance reports run where no model client is installed or wanted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from router.errors import LedgerError

F = TypeVar("F", bound=Callable[..., Any])

_LEDGER_HELP = (
    "Ledger database URL (sqlite:///PATH or postgresql://USER@HOST/DB). "
    "Default: $ROUTER_LEDGER_URL, else ledger.db in the user data directory."
)
_DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


def _ledger_option(fn: F) -> F:
    return click.option("--ledger", "url", metavar="URL", help=_LEDGER_HELP)(fn)


def _friendly(fn: F) -> F:
    """Turn LedgerError into `Error: ...` on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LedgerError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@click.group("db")
def db() -> None:
    """Create and migrate the ledger database.

    \b
    Examples:
      router db upgrade --ledger postgresql://router@db.internal/ledger
      router db current
    """


@db.command("upgrade")
@_ledger_option
@_friendly
def db_upgrade(url: str | None) -> None:
    """Create the ledger tables or bring them to the latest revision.

    SQLite ledgers upgrade themselves on first use; PostgreSQL needs this once per release.

    \b
    Examples:
      router db upgrade --ledger postgresql://router@db.internal/ledger
      ROUTER_LEDGER_URL=sqlite:///ledger.db router db upgrade
    """
    from router.ledger._admin import upgrade_ledger  # noqa: PLC0415 - keep `router --help` fast

    where = upgrade_ledger(url)
    click.echo(f"ledger at {where} is at the latest revision")


@db.command("current")
@_ledger_option
@_friendly
def db_current(url: str | None) -> None:
    """Show the ledger's schema revision and the latest one this version knows.

    \b
    Examples:
      router db current
      router db current --ledger postgresql://router@db.internal/ledger
    """
    from router.ledger._admin import ledger_revision  # noqa: PLC0415

    current, head = ledger_revision(url)
    state = "up to date" if current == head else "run: router db upgrade"
    click.echo(f"current: {current or '(no ledger tables)'}  head: {head}  ({state})")


@click.group("ledger")
def ledger() -> None:
    """Check and repair the savings ledger.

    \b
    Examples:
      router ledger verify --ledger postgresql://router@db.internal/ledger
      router ledger flush
    """


@ledger.command("flush")
@_ledger_option
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Outbox directory (default: the one kept for this ledger URL).",
)
@_friendly
def ledger_flush(url: str | None, outbox: Path | None) -> None:
    """Replay records kept in the local outbox while the database was unreachable.

    \b
    Examples:
      router ledger flush
      router ledger flush --ledger postgresql://router@db.internal/ledger
    """
    from router.ledger._admin import flush_outbox  # noqa: PLC0415

    result = flush_outbox(url, outbox)
    click.echo(f"replayed {result.replayed} record(s); rejected {result.rejected}")
    if result.rejected:
        click.echo("rejected records are kept in rejected.jsonl in the outbox", err=True)


@ledger.command("verify")
@_ledger_option
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Outbox directory to check for rejected records (default: this ledger URL's).",
)
@_friendly
def ledger_verify(url: str | None, outbox: Path | None) -> None:
    """Recompute every cost from stored tokens and unit prices and check the totals.

    Exits 1 and lists the request ids that do not reconcile, or the records the database
    rejected (kept in the outbox's rejected.jsonl), whose rows are missing.

    \b
    Examples:
      router ledger verify
      router ledger verify --ledger postgresql://router@db.internal/ledger
    """
    from router.ledger._verify import verify  # noqa: PLC0415

    result = verify(url, outbox_dir=outbox)
    for problem in result.problems:
        click.echo(f"{problem.request_id or '(report)'}: {problem.message}", err=True)
    click.echo(
        f"checked {result.requests} request(s), {result.attempts} attempt(s): "
        f"{'OK' if result.ok else f'{len(result.problems)} problem(s)'}"
    )
    if not result.ok:
        raise SystemExit(1)


@ledger.command("rebuild-rollup")
@_ledger_option
@_friendly
def ledger_rebuild_rollup(url: str | None) -> None:
    """Recompute the report rollup from the rows (when `router ledger verify` says it differs).

    Writers wait while it runs (minutes on 10 million PostgreSQL rows).

    \b
    Examples:
      router ledger rebuild-rollup --ledger postgresql://router@db.internal/ledger
    """
    from router.ledger._admin import rebuild_rollup  # noqa: PLC0415

    click.echo(f"report rollup of {rebuild_rollup(url)} rebuilt from its rows")


@click.command("report")
@_ledger_option
@click.option("--since", type=_DATE, help="First day (UTC, inclusive), e.g. 2025-01-01.")
@click.option("--until", type=_DATE, help="End (UTC, exclusive), e.g. 2025-02-01.")
@click.option(
    "--group-by",
    type=click.Choice(["day", "week", "month", "team", "app", "model", "tier"]),
    help="One row per group.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a PNG of spend vs baseline over time.",
)
@_friendly
def report(
    *,
    url: str | None,
    since: datetime | None,
    until: datetime | None,
    group_by: Any,
    fmt: str,
    chart: Path | None,
) -> None:
    """Spend, baseline and savings from the ledger.

    \b
    Examples:
      router report --since 2025-01-01 --until 2025-02-01 --group-by team
      router report --group-by day --format csv > january.csv
      router report --group-by week --chart savings.png
    """
    from router.ledger._format import render  # noqa: PLC0415
    from router.ledger._report import summarize  # noqa: PLC0415

    result = summarize(url, since, until, group_by)
    click.echo(render(result, fmt), nl=False)
    if chart is not None:
        _write_chart(url, result, chart)
        click.echo(f"chart written to {chart}", err=True)


def _write_chart(url: str | None, result: Any, path: Path) -> None:
    from router.ledger._chart import TIME_GROUPS, write_chart  # noqa: PLC0415
    from router.ledger._report import summarize  # noqa: PLC0415

    if result.group_by not in TIME_GROUPS:
        result = summarize(url, result.since, result.until, "day")
    write_chart(result, path)


def register(group: click.Group) -> None:
    """Add `db`, `ledger` and `report` to the top-level `router` group."""
    for command in (db, ledger, report):
        group.add_command(command)
