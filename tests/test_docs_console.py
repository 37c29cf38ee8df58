"""Every shell block in docs/ (and the README) runs as written, or says in the page why not.

A ```console, ```bash, ```sh or ```shell block is run with bash, one block per shell, in a
throwaway folder (with `policies/` and `examples/` linked in) against a throwaway data folder and
a ledger the demo has just filled. Every command must exit 0, unless the next command is
`echo $?` (whose shown output is then the status expected). In a console block (commands start
with `$ `), each line shown under a command must appear in what it printed; `...` stands for
anything, within a line or for whole lines.

Two markers, on the last non-blank line before a block, change this:

    <!-- docs-test: skip WHY -->     do not run the block (it needs a real model, a key, a
                                     PostgreSQL server, the shared data, a package index...);
                                     the test lists it as skipped, with WHY
    <!-- docs-test: file NAME -->    not a command: write this block to NAME in the folder the
                                     page's blocks run in (a policy file the page then checks)

Blocks inside the README's quick start are run by scripts/fresh_clone_check.sh instead. An
unmarked block may only run the programs in `ALLOWED`: a page that shows `createdb` or
`pip install` must say why it is not run, rather than have this test run it on the machine.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from router.demo import run_demo
from router.ledger import open_ledger

ROOT = Path(__file__).resolve().parent.parent
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELLS = frozenset({"console", "bash", "sh", "shell"})
MARKER = re.compile(r"^<!-- docs-test: (?P<kind>skip|file) (?P<arg>\S.*?) -->$")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")
STATUS = "@@docs-test-status="
LINKED = ("policies", "examples")
ALLOWED = frozenset({"router", "echo", "cat", "head", "tail", "grep", "ls", "wc", "test"})


@dataclass(frozen=True)
class Command:
    line: str
    shown: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    marker: tuple[str, str] | None = None
    files: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def commands(self) -> list[Command]:
        lines = self.text.splitlines()
        if any(line.startswith("$ ") for line in lines):
            return _console_commands(lines)
        return [Command(c) for c in _joined(lines) if c.strip() and not c.lstrip().startswith("#")]


def _joined(lines: list[str]) -> list[str]:
    """Lines with backslash continuations joined."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1] + " " + line.strip()
        else:
            out.append(line)
    return out


def _console_commands(lines: list[str]) -> list[Command]:
    commands: list[tuple[str, list[str]]] = []
    for line in lines:
        if commands and commands[-1][0].endswith("\\") and not commands[-1][1]:
            commands[-1] = (commands[-1][0][:-1] + " " + line.strip(), [])
        elif line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    return [Command(line, tuple(shown)) for line, shown in commands]


def page_blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, with its marker and the files written before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    files: list[tuple[str, str]] = []
    quick_start = False
    i = 0
    while i < len(lines):
        quick_start = _in_quick_start(lines[i], quick_start)
        opening = FENCE.match(lines[i])
        if not opening or not opening["lang"]:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        text = "\n".join(lines[i + 1 : end]) + "\n"
        marker = _marker(lines, i)
        if quick_start and marker is None:
            marker = ("skip", "the README's quick start: scripts/fresh_clone_check.sh runs it")
        block = Block(page, i + 1, opening["lang"], text, marker, tuple(files))
        if marker is not None and marker[0] == "file":
            files.append((marker[1], text))
        blocks.append(block)
        i = end + 1
    return blocks


def _in_quick_start(line: str, inside: bool) -> bool:
    if line.startswith("<!-- quickstart:begin"):
        return True
    return False if line.startswith("<!-- quickstart:end") else inside


def _marker(lines: list[str], fence: int) -> tuple[str, str] | None:
    before = next((lines[j] for j in range(fence - 1, -1, -1) if lines[j].strip()), "")
    found = MARKER.match(before.strip())
    return (found["kind"], found["arg"]) if found else None


ALL_BLOCKS = [block for page in PAGES for block in page_blocks(page)]
SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.lang in SHELLS]


def test_every_marker_is_well_formed_and_in_its_place():
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if "docs-test:" in line:
                assert MARKER.match(line.strip()), f"{page.name}:{number}: bad marker {line!r}"
    for block in ALL_BLOCKS:
        if block.marker and block.marker[0] == "file":
            assert block.lang not in SHELLS, f"{block.where}: a file marker on a shell block"
            assert "/" not in block.marker[1], f"{block.where}: file names stay in the folder"


def _programs(command: str) -> set[str]:
    """The programs a command line runs (each part of a pipe or a list), by base name."""
    programs = set()
    for part in re.split(r"\|\||&&|[|;]", command.split(" #", maxsplit=1)[0]):
        words = [w for w in shlex.split(part, comments=True) if not re.match(r"^\w+=", w)]
        if words:
            programs.add(Path(words[0]).name)
    return programs


def test_unmarked_blocks_only_run_harmless_programs():
    for block in SHELL_BLOCKS:
        if block.marker is None:
            used = set().union(*(_programs(c.line) for c in block.commands))
            assert used <= ALLOWED, (
                f"{block.where} runs {sorted(used - ALLOWED)}: add "
                "<!-- docs-test: skip WHY --> before it, or extend ALLOWED if it is harmless"
            )
    assert _programs("A=1 .venv/bin/router x | head -3 && createdb y  # z") == {
        "router",
        "head",
        "createdb",
    }


def test_the_pages_that_must_run_do():
    """A guard against skipping everything: these pages' examples run in this test."""
    runnable = {b.page.name for b in SHELL_BLOCKS if b.marker is None}
    assert {"README.md", "fleet.md", "ledger.md", "policies.md", "reports.md", "simulate.md"} <= (
        runnable
    )


def test_the_parser_reads_console_blocks_as_the_reader_does():
    block = Block(ROOT, 1, "console", "$ a \\\n  --b\nout 1\n...\n$ echo $?\n2\n")
    assert block.commands == [Command("a  --b", ("out 1", "...")), Command("echo $?", ("2",))]
    plain = Block(ROOT, 1, "sh", "# a comment\nrouter x   # trailing\n\nrouter y \\\n  --z\n")
    assert [c.line for c in plain.commands] == ["router x   # trailing", "router y  --z"]


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ledger holding a short demo run (the loopback models), as a reader's would."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}"
    ledger = open_ledger(url)
    try:
        run_demo(ledger=ledger, limit=24, concurrency=4)
    finally:
        ledger.close()
    return url


def _params():
    for block in SHELL_BLOCKS:
        marks = [pytest.mark.slow]
        if block.marker is not None and block.marker[0] == "skip":
            marks.append(pytest.mark.skip(reason=f"{block.where}: {block.marker[1]}"))
        yield pytest.param(block, id=block.where, marks=marks)


@pytest.mark.parametrize("block", list(_params()))
def test_shell_block_runs_as_written(block: Block, demo_ledger: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in LINKED:
        (work / name).symlink_to(ROOT / name)
    for name, text in block.files:
        (work / name).write_text(text, encoding="utf-8")
    commands = block.commands
    assert set().union(*(_programs(c.line) for c in commands)) <= ALLOWED  # see the test above
    results = _run(commands, work, _env(tmp_path, demo_ledger))
    assert len(results) == len(commands), f"{block.where}: the block stopped early:\n{results}"
    for index, (command, (status, output)) in enumerate(zip(commands, results, strict=True)):
        following = commands[index + 1] if index + 1 < len(commands) else None
        if following is not None and following.line.strip() == "echo $?":
            expected = int(following.shown[0]) if following.shown else 0
        else:
            expected = 0
        assert status == expected, (
            f"{block.where}: `{command.line}` exited {status}, not {expected}:\n{output[-3000:]}"
        )
        for shown in command.shown:
            assert _appears(shown, output), (
                f"{block.where}: `{command.line}` did not print {shown!r}; it printed:\n"
                f"{output[-3000:]}"
            )


def _env(tmp_path: Path, ledger_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        XDG_DATA_HOME=str(tmp_path / "data"),
        ROUTER_LEDGER_URL=ledger_url,
        COLUMNS="200",
    )
    return env


def _run(commands: list[Command], work: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    """Run the block in one bash; (status, output) per command, stderr included."""
    script = ["exec 2>&1"]
    for command in commands:
        script += [command.line, f'__s=$?; printf "\\n{STATUS}%d\\n" "$__s"; (exit $__s)']
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    parts = re.split(rf"\n{re.escape(STATUS)}(\d+)\n", done.stdout)
    return [(int(parts[i + 1]), parts[i]) for i in range(0, len(parts) - 1, 2)]


def _appears(shown: str, output: str) -> bool:
    """`shown` is on a line of `output`, spaces collapsed; `...` matches anything."""
    pieces = [" ".join(p.split()) for p in shown.split("...")]
    if not any(pieces):
        return True
    pattern = ".*".join(re.escape(p) for p in pieces)
    return any(re.search(pattern, " ".join(line.split())) for line in output.splitlines())
