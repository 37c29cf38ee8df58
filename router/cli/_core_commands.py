"""`router demo` (thin over `router.demo.run_demo`) and `router doctor` (over
`router.doctor.check_setup`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from router.demo import DemoSummary, render_table, run_demo
from router.demo._table import closing_note

if TYPE_CHECKING:
    from router.ledger import SQLLedger


def register(group: click.Group) -> None:
    group.add_command(demo)
    group.add_command(doctor)


@click.command(short_help="Check Ollama, the API keys and the ledger before the first request.")
@click.option("--policy", default=None, help="Policy file or shipped policy name (default).")
@click.option("--ledger", "ledger_url", default=None, help="Ledger URL (default: your ledger).")
def doctor(policy: str | None, ledger_url: str | None) -> None:
    """Check that this machine is ready for a policy; exit 1 naming each problem and its fix.

    Ollama must answer and have the local model, every frontier model the policy may call needs
    its API key, and the ledger must be writable. Nothing is sent to a frontier model.

    \b
    Examples:
      router doctor
      router doctor --policy policies/my-team.yaml
      router doctor --ledger postgresql://router@db.internal/ledger
    """
    from router.doctor import check_setup  # noqa: PLC0415

    report = check_setup(policy, ledger_url=ledger_url)
    click.echo(report.render())
    if not report.ok:
        raise SystemExit(1)


@click.command(short_help="Route a mixed workload on simulated models; show the savings.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary only.")
@click.option("--live", is_flag=True, help="Use a real Ollama on localhost and real API keys.")
@click.option(
    "--check", is_flag=True, help="With --live: only check Ollama, the keys and the ledger."
)
@click.option("--policy", default=None, help="Policy file or shipped policy name.")
@click.option("--ledger", "ledger_url", default=None, help="Ledger URL (default: your ledger).")
@click.option("--no-ledger", is_flag=True, help="Do not record the demo's requests.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Route only the first N.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option(
    "--otel",
    type=click.Choice(["console"]),
    default=None,
    help="Print OpenTelemetry spans and metrics (to stderr).",
)
@click.option(
    "--chart",
    "chart_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the savings chart PNG (default: demo-savings.png in the data directory).",
)
@click.option("--no-chart", is_flag=True, help="Do not draw the savings chart.")
@click.option(
    "--learn",
    "learn",
    is_flag=True,
    help="Show savings and quality before and after learning from shadowed traffic.",
)
@click.option(
    "--shadow-rate",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="With --learn: share of local answers shadowed in the learning week.",
)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --learn: an outcome file (shared-data schema) as the traffic instead.",
)
def demo(  # noqa: PLR0917 - click passes one argument per option
    as_json: bool,
    live: bool,
    check: bool,
    policy: str | None,
    ledger_url: str | None,
    no_ledger: bool,
    limit: int | None,
    concurrency: int,
    otel: str | None,
    chart_path: Path | None,
    no_chart: bool,
    learn: bool,
    shadow_rate: float,
    data: Path | None,
) -> None:
    """Route a realistic mixed workload and show what went where, why, and what it saved.

    Unless --live is given, the models are simulated: loopback servers that replay answers real
    small and large models gave to these prompts. Routing, retries and accounting are real.
    It ends with a table and writes the savings chart to a PNG whose path it prints.

    \b
    Examples:
      router demo
      router demo --json
      router demo --chart savings.png
      router demo --limit 50 --ledger sqlite:///demo.db
      router demo --live --policy policies/default.yaml
      router demo --live --check
      router demo --limit 5 --otel console
      router demo --learn --shadow-rate 0.5
    """
    if check and not live:
        raise click.UsageError("--check goes with --live (the simulated models need no check)")
    if live:
        _check_live_setup(policy, ledger_url, with_ledger=not no_ledger, only=check, quiet=as_json)
    if learn:
        _learning_demo(policy, shadow_rate, limit, concurrency, data, as_json)
        return
    ledger = None if no_ledger else _open_ledger(ledger_url, policy)
    started = datetime.now(UTC)
    progress = None if as_json else _progress_printer()
    providers = _console_telemetry() if otel == "console" else (None, None)
    try:
        summary = run_demo(
            policy=policy,
            ledger=ledger,
            limit=limit,
            concurrency=concurrency,
            live=live,
            check=False,  # checked above, with the ledger
            on_result=progress,
            tracer_provider=providers[0],
            meter_provider=providers[1],
        )
    finally:
        for provider in providers:
            if provider is not None:
                provider.shutdown()
    report = None if ledger is None else _ledger_report(ledger, started, summary)
    if not no_chart:
        summary.chart = str(_draw_chart(summary, chart_path))
    if as_json:
        click.echo(json.dumps(summary.as_json(), indent=2))
        return
    click.echo(render_table(summary))
    if report is not None:
        click.echo(
            f"\nThe ledger's report of this run ({summary.ledger_url}); see it again with\n"
            f"  router report --ledger '{summary.ledger_url}' --since '{started.isoformat()}'\n"
        )
        click.echo(report)
    click.echo(closing_note(summary))


def _check_live_setup(
    policy: str | None, ledger_url: str | None, *, with_ledger: bool, only: bool, quiet: bool
) -> None:
    """Before real models are called: Ollama, the keys and (`with_ledger`) the ledger, as
    `router doctor` checks them; exit 1 listing each problem and its fix. `only`: exit after
    the check. The report goes to stderr unless it is all there is to print."""
    from router.doctor import check_setup  # noqa: PLC0415

    report = check_setup(policy, ledger_url=ledger_url, check_ledger=with_ledger)
    if only or not report.ok or not quiet:
        click.echo(report.render(), err=not only)
    if only or not report.ok:
        raise SystemExit(0 if report.ok else 1)


def _learning_demo(  # noqa: PLR0917 - the demo's own options, passed on
    policy: str | None,
    shadow_rate: float,
    limit: int | None,
    concurrency: int,
    data: Path | None,
    as_json: bool,
) -> None:
    from router.demo._learn import render_learning_demo, run_learning_demo  # noqa: PLC0415

    result = run_learning_demo(
        policy=policy,
        shadow_rate=shadow_rate,
        limit=limit,
        concurrency=concurrency,
        data=data,
        on_step=None if as_json else lambda m: click.echo(f"  {m}", err=True),
    )
    click.echo(json.dumps(result.as_json(), indent=2) if as_json else render_learning_demo(result))


def _ledger_report(ledger: SQLLedger, started: datetime, summary: DemoSummary) -> str:
    """The ledger's own summary of the rows this run wrote, read back with SQL."""
    from router.ledger import summarize  # noqa: PLC0415
    from router.ledger._engine import display_url  # noqa: PLC0415
    from router.ledger._format import as_table  # noqa: PLC0415

    url = ledger.engine.url
    summary.ledger_url = display_url(url)
    summary.ledger_since = started.isoformat()
    return as_table(summarize(url.render_as_string(hide_password=False), since=started))


def _draw_chart(summary: DemoSummary, path: Path | None) -> Path:
    from router.demo import write_demo_chart  # noqa: PLC0415 - matplotlib only when drawing
    from router.ledger._engine import data_dir  # noqa: PLC0415

    return write_demo_chart(summary, path or data_dir() / "demo-savings.png")


def _open_ledger(url: str | None, policy: str | None) -> SQLLedger:
    """The demo's ledger, written with the durability the policy asks for."""
    from router.ledger import open_ledger  # noqa: PLC0415 - SQLAlchemy only when recording
    from router.policy import load_policy  # noqa: PLC0415

    return open_ledger(url, durability=load_policy(policy).ledger.durability)


def _console_telemetry() -> tuple[Any, Any]:
    from router.telemetry import configure_console  # noqa: PLC0415 - the SDK only when asked

    return configure_console(sys.stderr)


def _progress_printer() -> Callable[[int, int], None]:
    """A live bar on stderr when it is a terminal; a plain line per quarter when it is not."""
    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        if not tty:
            if done == total or (4 * done // total) > (4 * (done - 1) // total):
                sys.stderr.write(f"  routed {done}/{total}\n")
            return
        width = 30
        filled = width * done // total
        if done != total and filled == width * (done - 1) // total:
            return
        sys.stderr.write(f"\r  routing [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
