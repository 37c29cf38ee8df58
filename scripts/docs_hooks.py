"""mkdocs hook: fill the generated reference pages from the live code at build time.

A page asks for a reference with a marker line, replaced when the site is built, so the CLI,
errors and policy references cannot drift from the code (other work adds commands, errors and
policy fields all the time):

    <!-- generated: cli-reference -->      every command's --help, walked from `router.cli.main`
    <!-- generated: errors-reference -->   the exception tree of router/errors.py
    <!-- generated: policy-reference -->   every policy key (router.policy._docs)

Wired in mkdocs.yml (`hooks:`); also importable, so tests can render the same text.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import click

MARKER = "<!-- generated: {} -->"


def cli_reference() -> str:
    """`router --help` and the help of every command and subcommand, in order."""
    from router.cli import main  # noqa: PLC0415 - the live command tree

    parts: list[str] = []
    for path, command in walk_commands(main):
        level = "#" * min(len(path) + 1, 4)
        name = " ".join(path)
        settings = {"help_option_names": ["-h", "--help"], "terminal_width": 100}
        with click.Context(command, info_name=name, **settings) as ctx:
            text = command.get_help(ctx)
        parts += [f"{level} `{name}`", "", "```text", text, "```", ""]
    return "\n".join(parts)


def walk_commands(
    command: click.Command, path: tuple[str, ...] = ("router",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """(path, command) for `command` and every command below it, sorted by name."""
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk_commands(command.commands[name], (*path, name))


def errors_reference() -> str:
    """One section per class of router/errors.py, parents first, with the CLI's hint."""
    from router import errors  # noqa: PLC0415
    from router.cli import hint_for  # noqa: PLC0415

    lines = ["```text", *_tree(errors.RouterError, errors.__name__, 0), "```", ""]
    for cls in dict.fromkeys(_classes(errors.RouterError, errors.__name__)):  # once each
        bases = " and ".join(f"[`{b.__name__}`](#{b.__name__.lower()})" for b in cls.__bases__)
        doc = inspect.cleandoc(cls.__doc__ or "")
        lines += [f"## `{cls.__name__}`", ""]
        if cls is not errors.RouterError:
            lines += [f"Subclass of {bases}.", ""]
        lines += [doc, "", f"From the command line: *{hint_for(cls)}*", ""]
    return "\n".join(lines)


def _subclasses(cls: type, module: str) -> list[type]:
    return sorted(
        (c for c in cls.__subclasses__() if c.__module__ == module), key=lambda c: c.__name__
    )


def _tree(cls: type, module: str, depth: int) -> Iterator[str]:
    yield "    " * depth + cls.__name__
    for child in _subclasses(cls, module):
        yield from _tree(child, module, depth + 1)


def _classes(cls: type, module: str) -> Iterator[type]:
    yield cls
    for child in _subclasses(cls, module):
        yield from _classes(child, module)


def policy_reference() -> str:
    """Every policy key with its type, default and description, from the pydantic models."""
    from router.policy._docs import render_reference  # noqa: PLC0415

    return render_reference()


GENERATORS: dict[str, Callable[[], str]] = {
    "cli-reference": cli_reference,
    "errors-reference": errors_reference,
    "policy-reference": policy_reference,
}


def fill(markdown: str) -> str:
    """`markdown` with every generated marker replaced by its text."""
    for name, generate in GENERATORS.items():
        marker = MARKER.format(name)
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown


def on_page_markdown(markdown: str, **_: Any) -> str:
    """The mkdocs event: runs on every page's Markdown before it is rendered."""
    return fill(markdown)
