"""`router simulate`: a thin wrapper over `router.simulate.simulate`."""

from __future__ import annotations

import json
from datetime import datetime

import click

from router.cli._time_param import UTC_TIME
from router.errors import ConfigError, LedgerError, PolicyError
from router.policy import check_policy

PROBLEMS_EXIT = 2


@click.command("simulate")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    metavar="FILE",
    help="Candidate policy: a YAML file, or a shipped policy name (default, cost-saver...).",
)
@click.option(
    "--ledger",
    "url",
    metavar="URL",
    help="Ledger to replay (sqlite:///PATH or postgresql://USER@HOST/DB). "
    "Default: $ROUTER_LEDGER_URL, else ledger.db in the user data directory.",
)
@click.option("--since", type=UTC_TIME, help="Replay requests from this moment (UTC, inclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def simulate_command(
    policy_file: str, url: str | None, since: datetime | None, as_json: bool
) -> None:
    """What-if: replay recorded traffic under a candidate policy, calling no model.

    Prints the local share, spend, baseline and savings the candidate would have produced,
    next to what actually happened, and how many requests rest on estimates (docs/simulate.md).

    \b
    Examples:
      router simulate --policy policies/cost-saver.yaml
      router simulate --policy my-team.yaml --since 2026-11-01 --json
      router simulate --policy quality-first --ledger postgresql://router@db.internal/ledger
    """
    from router.simulate import simulate  # noqa: PLC0415 - keep `router --help` fast

    checked = check_policy(policy_file)
    if checked.policy is None or not checked.ok:
        for problem in checked.problems:
            click.echo(str(problem), err=True)
        click.echo(f"fix the policy (see: router policy check {policy_file})", err=True)
        raise SystemExit(PROBLEMS_EXIT)
    try:
        report = simulate(checked.policy, ledger_url=url, since=since)
    except PolicyError as exc:
        for line in exc.problems or (str(exc),):
            click.echo(line, err=True)
        raise SystemExit(PROBLEMS_EXIT) from None
    except (LedgerError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.render(), nl=False)


def register(group: click.Group) -> None:
    """Add `simulate` to the top-level `router` group."""
    group.add_command(simulate_command)
