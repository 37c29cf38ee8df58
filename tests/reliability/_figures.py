"""Record one reliability figure: print it, and append it to ROUTER_RELIABILITY_REPORT if set.

Every row of the reliability matrix (docs/reliability.md) calls `record` once per figure, so a
CI run can collect the table as JSON lines: {"row", "what", "figure", "target", "passed"}.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPORT_ENV = "ROUTER_RELIABILITY_REPORT"


def record(row: int, what: str, figure: str, target: str, passed: bool) -> None:
    """Print the figure for matrix row `row` and append it to the report file if one is named."""
    line = {"row": row, "what": what, "figure": figure, "target": target, "passed": passed}
    print(
        f"[reliability row {row}] {what}: {figure} (target {target}) {'ok' if passed else 'FAIL'}"
    )
    path = os.environ.get(REPORT_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
