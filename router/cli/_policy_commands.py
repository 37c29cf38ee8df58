"""`router policy check` and `router policy explain`: thin wrappers over `router.policy`."""

from __future__ import annotations

import click

from router.errors import ConfigError, PolicyError
from router.policy import check_policy, explain_policy

PROBLEMS_EXIT = 2


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level `router` group."""
    group.add_command(policy)


@click.group("policy")
def policy() -> None:
    """Check policy files and show the effective policy.

    \b
    Examples:
      router policy check policies/*.yaml
      router policy explain my-team.yaml --team support
    """


@policy.command("check")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def check(files: tuple[str, ...]) -> None:
    """Validate policy files (or shipped policy names); exit 2 listing every problem.

    Each problem prints as `file:line: key: what is wrong; how to fix it`.

    \b
    Examples:
      router policy check policies/*.yaml
      router policy check cost-saver my-team.yaml
    """
    failed = False
    for file in files:
        result = check_policy(file)
        for problem in result.problems:
            click.echo(str(problem))
        if result.policy is not None and result.ok:
            click.echo(f"ok: {file} ({result.policy.name}, {result.policy.version})")
        failed = failed or not result.ok
    if failed:
        raise SystemExit(PROBLEMS_EXIT)


@policy.command("explain")
@click.argument("file", metavar="FILE")
@click.option("--team", default=None, help="Show the policy as this team's requests get it.")
@click.option("--app", default=None, help="Show the policy as this app's requests get it.")
def explain(file: str, team: str | None, app: str | None) -> None:
    """Print the effective policy after inheritance (and overrides) as YAML, secrets masked.

    \b
    Examples:
      router policy explain default
      router policy explain my-team.yaml --team support --app refunds
    """
    try:
        click.echo(explain_policy(file, team=team, app=app), nl=False)
    except PolicyError as exc:
        for line in exc.problems or (str(exc),):
            click.echo(line, err=True)
        raise SystemExit(PROBLEMS_EXIT) from None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
