"""The `router` command line. Commands stay thin: each calls library functions."""

from __future__ import annotations

import click

from router.cli import (
    _classifier_commands,
    _core_commands,
    _ledger_commands,
    _policy_commands,
    _simulate_commands,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cost-router", prog_name="router")
def main() -> None:
    """cost-router: send each LLM request to the cheapest model that can answer it well."""


for _module in (_core_commands, _classifier_commands, _ledger_commands, _policy_commands):
    _module.register(main)
_simulate_commands.register(main)
