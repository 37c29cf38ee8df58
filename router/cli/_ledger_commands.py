"""`router db`, `router ledger` and `router report`: thin wrappers over `router.ledger`.

Nothing here imports litellm: finance reports run where no model client is installed or wanted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from router.cli._time_param import UTC_TIME
from router.errors import LedgerError

F = TypeVar("F", bound=Callable[..., Any])

_LEDGER_HELP = (
    "Ledger database URL (sqlite:///PATH or postgresql://USER@HOST/DB). "
    "Default: $ROUTER_LEDGER_URL, else ledger.db in the user data directory."
)


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
      router ledger export --since 2025-01-01 --until 2025-02-01 -o january.csv
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


def _group_by(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from router.ledger._report import parse_group_by  # noqa: PLC0415

    try:
        return ",".join(parse_group_by(value)) or None
    except LedgerError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


def _filter_option(name: str, example: str) -> Callable[[F], F]:
    return click.option(
        f"--{name}",
        multiple=True,
        metavar=name.upper(),
        help=f"Only requests whose {name} is this (repeat for several), e.g. {example}; "
        "'(none)' for those without one.",
    )


_OPTIONS_THAT_FILTER = (
    click.option(
        "--since",
        type=UTC_TIME,
        help="Start (inclusive): ISO 8601 date or time, UTC unless it has an offset.",
    ),
    click.option(
        "--until", type=UTC_TIME, help="End (exclusive), e.g. 2025-02-01 or 2025-01-31T18:00Z."
    ),
    _filter_option("team", "support"),
    _filter_option("app", "helpdesk"),
    _filter_option("tier", "frontier"),
    _filter_option("model", "gpt-5.4"),
)


def _filter_options(fn: F) -> F:
    """--since/--until and --team/--app/--tier/--model, as `report` and `export` take them."""
    for option in reversed(_OPTIONS_THAT_FILTER):
        fn = option(fn)
    return fn


@ledger.command("export")
@_ledger_option
@_filter_options
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV here (default: standard output).",
)
@_friendly
def ledger_export(
    *,
    url: str | None,
    since: datetime | None,
    until: datetime | None,
    team: tuple[str, ...],
    app: tuple[str, ...],
    tier: tuple[str, ...],
    model: tuple[str, ...],
    output: Path | None,
) -> None:
    """The request rows behind a report, as CSV: one line per request, exact amounts.

    Takes the filters `router report` takes, so the rows add up to its figures exactly.
    User ids, prompt hashes and tags are not exported.

    \b
    Examples:
      router ledger export --since 2025-01-01 --until 2025-02-01 -o january.csv
      router ledger export --team support --tier frontier > support-frontier.csv
    """
    from router.ledger._export import export_csv  # noqa: PLC0415

    chosen = {"team": team, "app": app, "tier": tier, "model": model}
    if output is None:
        count = export_csv(sys.stdout, url, since, until, **chosen)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            count = export_csv(out, url, since, until, **chosen)
    click.echo(f"exported {count:,} request(s)", err=True)


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
@_filter_options
@click.option(
    "--group-by",
    callback=_group_by,
    metavar="FIELD[,FIELD]",
    help="One row per group of one or two of day, week, month, team, app, tier, model "
    "(e.g. month,tier).",
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
    help="Also write a PNG: spend, baseline and savings per group (per day when ungrouped).",
)
@_friendly
def report(
    *,
    url: str | None,
    since: datetime | None,
    until: datetime | None,
    group_by: str | None,
    team: tuple[str, ...],
    app: tuple[str, ...],
    tier: tuple[str, ...],
    model: tuple[str, ...],
    fmt: str,
    chart: Path | None,
) -> None:
    """Spend, baseline and savings from the ledger, filtered and grouped.

    \b
    Examples:
      router report --since 2025-01-01 --until 2025-02-01 --group-by team
      router report --group-by month,tier --format csv > by-month-and-tier.csv
      router report --team support --tier frontier --group-by month
      router report --since 2026-12-06T07:18:29.194091+00:00 --group-by day --chart savings.png
    """
    from router.ledger._format import render  # noqa: PLC0415
    from router.ledger._report import summarize  # noqa: PLC0415

    chosen = {"team": team, "app": app, "tier": tier, "model": model}
    result = summarize(url, since, until, group_by, **chosen)
    click.echo(render(result, fmt), nl=False)
    if chart is not None:
        _write_chart(url, result, chart)
        click.echo(f"chart written to {chart}", err=True)


def _write_chart(url: str | None, result: Any, path: Path) -> None:
    """Chart the report's own grouping; an ungrouped report is charted per day."""
    from router.ledger._chart import write_chart  # noqa: PLC0415
    from router.ledger._report import summarize  # noqa: PLC0415

    if result.group_by is None:
        kept = dict(result.filters)
        result = summarize(url, result.since, result.until, "day", **kept)
    write_chart(result, path)


def register(group: click.Group) -> None:
    """Add `db`, `ledger` and `report` to the top-level `router` group."""
    for command in (db, ledger, report):
        group.add_command(command)
