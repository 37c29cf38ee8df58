"""CLI ergonomics: one-line summaries, examples in every help, errors on stderr with a hint.

The walk starts from the registered `router` group, so commands other work adds are covered.
"""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

import router
from router import errors
from router.cli import hint_for, main
from router.errors import PolicyError, RouterError


def _walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], (*path, name))


COMMANDS = list(_walk(main))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"router, version {router.__version__}"


@pytest.mark.parametrize(
    "path", [p for p, c in COMMANDS if isinstance(c, click.Group)], ids=" ".join
)
def test_group_help_lists_every_command_with_a_one_line_summary(path):
    group = dict(COMMANDS)[path]
    text = _help(path)
    listing = text.split("Commands:\n", 1)[1].splitlines()
    for name in group.commands:
        (line,) = [ln for ln in listing if ln.split()[:1] == [name]]
        summary = line.split(None, 1)[1:]
        assert summary and len(summary[0]) > 10, f"`{name}` has no one-line summary"


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "router")
def test_every_command_help_ends_with_examples(path):
    text = _help(path)
    section = re.search(r"^  Examples?:\n((?:    router .*\n)+)", text, flags=re.M)
    assert section, f"`router {' '.join(path)} --help` has no Examples section"
    for example in section.group(1).splitlines():
        assert example.split()[1 : 1 + len(path)] == list(path) or not path


def test_errors_go_to_stderr_with_a_hint_and_a_non_zero_exit(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = CliRunner().invoke(
        main, ["demo", "--no-ledger", "--no-chart", "--policy", str(missing)]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Error: PolicyError:" in result.stderr
    assert "Hint: check it with `router policy check FILE`" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_point_at_help():
    result = CliRunner().invoke(main, ["demoo"], prog_name="router")
    assert result.exit_code == 2
    assert "No such command 'demoo'. Did you mean 'demo'?" in result.stderr
    assert "Try 'router --help' for help." in result.stderr


def test_every_router_error_class_has_a_hint():
    classes = [
        v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, RouterError)
    ]
    assert len(classes) > 15
    for cls in classes:
        assert hint_for(cls)
    assert hint_for(PolicyError) != hint_for(RouterError)
