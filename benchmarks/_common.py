"""Shared pieces of `python -m benchmarks`: settings, statistics, result rows, machine facts."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA_ENV = "ROUTER_SHARED_DATA"


def find_shared_data(repo: Path = REPO) -> Path:
    """The shared outcome-data folder, found relative to the repository, never by a fixed path.

    $ROUTER_SHARED_DATA when set; else the first `shared/data` beside the repository or beside
    one of its two parent folders (a clone at X/repo finds X/shared/data; a git worktree at
    X/wt/NAME finds it too). When there is none, the first candidate: callers say it is missing.
    """
    override = os.environ.get(SHARED_DATA_ENV)
    if override:
        return Path(override)
    candidates = [parent / "shared" / "data" for parent in repo.parents[:3]]
    return next((p for p in candidates if p.is_dir()), candidates[0])


DEFAULT_DATA = find_shared_data()


@dataclass(frozen=True, slots=True)
class Settings:
    """What every benchmark may read: sizes shrink with `--quick`, grow with `--full`."""

    data: Path
    quick: bool = False
    full: bool = False
    postgres: str | None = None
    prompts: int | None = None  # override of the decision benchmark's prompt count

    def pick(self, quick: int, normal: int, full: int | None = None) -> int:
        if self.quick:
            return quick
        return full if (self.full and full is not None) else normal


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: our figure next to the alternative's, and the ratio ours/alt.

    For times and memory `ratio` < 1 means cost-router is better; for throughput, > 1.
    `target` says what we aim for and `met` whether this run met it (None: no target).
    """

    bench: str
    metric: str
    ours: float | None
    alternative: float | None = None
    alt_name: str = ""
    unit: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass(slots=True)
class Section:
    """The rows of one benchmark plus its raw details for the JSON file."""

    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, metric: str, ours: float | None, **kw: Any) -> Row:
        if "ratio" not in kw and ours is not None and kw.get("alternative"):
            kw["ratio"] = ours / kw["alternative"]
        row = Row(self.name, metric, ours, **kw)
        self.rows.append(row)
        return row

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "rows": [asdict(r) for r in self.rows],
            "details": self.details,
        }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, `q` in [0, 1]."""
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))])


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_python(code: str, *, timeout: float = 300.0) -> dict[str, Any]:
    """Run `code` in a fresh interpreter (this venv); it must print one JSON object last."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"benchmark subprocess failed: {' | '.join(tail)}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
