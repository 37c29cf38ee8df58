"""Regenerate the reference part of docs/policies.md from the policy models.

Usage: python scripts/gen_policy_docs.py [--check]

Only the text between the BEGIN/END GENERATED markers is replaced; the hand-written parts around
it are kept. With --check, exit 1 (changing nothing) when the file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from router.policy._docs import render_reference, splice

DOC = Path(__file__).resolve().parent.parent / "docs" / "policies.md"


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    wanted = splice(current, render_reference())
    if "--check" in argv:
        if wanted != current:
            print(f"{DOC} is stale; run: python scripts/gen_policy_docs.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
