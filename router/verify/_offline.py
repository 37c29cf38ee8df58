"""Offline evaluation: run a model-free verifier over rows of the shared-data schema.

Rows carry `prompt`, `scores`, `responses`, `local_model` (see the shared data README). For
each row the local model's recorded response is verified; `summarise` compares "failed" with
the local model's actual score, which is what `router eval` reports as after-the-answer metrics.
Verifiers that need the local model (self_check, self_consistency) fail to run here: there is
no `call_local`, so those rows come back with `passed=None`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router.backends import ModelResponse
from router.verify._compose import VerifierLike, as_verifier
from router.verify._context import VerifyContext
from router.verify._run import run_verifiers

_CODE_TASK = re.compile(r"mbpp|humaneval|evalperf|code", re.I)


@dataclass(frozen=True, slots=True)
class OfflineVerdict:
    """One row: `passed` is None when the row has no response or the verifier could not run."""

    id: str
    passed: bool | None
    reasons: tuple[str, ...]
    local_score: float | None


@dataclass(frozen=True, slots=True)
class OfflineSummary:
    """ "Failed" as a predictor of a bad local answer (score below `bad_below`)."""

    rows: int
    judged: int
    pass_rate: float
    bad_rate: float
    precision: float  # of the answers failed, the share that really were bad
    recall: float  # of the bad answers, the share failed


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    verifier: VerifierLike,
    *,
    model: str | None = None,
    budget_s: float = 10.0,
) -> list[OfflineVerdict]:
    """Verify each row's response from `model` (default: the row's `local_model`)."""
    return asyncio.run(averify_rows(rows, verifier, model=model, budget_s=budget_s))


async def averify_rows(
    rows: Iterable[Mapping[str, Any]],
    verifier: VerifierLike,
    *,
    model: str | None = None,
    budget_s: float = 10.0,
) -> list[OfflineVerdict]:
    """`verify_rows` for callers already inside an event loop."""
    check = as_verifier(verifier)
    return [await _verify_row(row, check, model, budget_s) for row in rows]


def summarise(results: Sequence[OfflineVerdict], *, bad_below: float = 0.5) -> OfflineSummary:
    """Pass rate, and precision/recall of "failed" against `local_score < bad_below`."""
    judged = [r for r in results if r.passed is not None and r.local_score is not None]
    flagged = [r for r in judged if not r.passed]
    bad = [r for r in judged if r.local_score is not None and r.local_score < bad_below]
    hits = [r for r in flagged if r.local_score is not None and r.local_score < bad_below]
    return OfflineSummary(
        rows=len(results),
        judged=len(judged),
        pass_rate=_share(len(judged) - len(flagged), len(judged)),
        bad_rate=_share(len(bad), len(judged)),
        precision=_share(len(hits), len(flagged)),
        recall=_share(len(hits), len(bad)),
    )


async def _verify_row(
    row: Mapping[str, Any], check: VerifierLike, model: str | None, budget_s: float
) -> OfflineVerdict:
    name = model or str(row.get("local_model", ""))
    score = row.get("scores", {}).get(name)
    local_score = float(score) if isinstance(score, int | float) else None
    row_id = str(row.get("id", ""))
    text = (row.get("responses") or {}).get(name)
    if not isinstance(text, str):
        return OfflineVerdict(row_id, None, ("no response recorded",), local_score)
    result = await run_verifiers(check, _context(row, name, text), budget_s=budget_s)
    passed = None if result.status in ("error", "timeout") else result.passed
    return OfflineVerdict(row_id, passed, result.reasons, local_score)


def _context(row: Mapping[str, Any], model: str, text: str) -> VerifyContext:
    answer = ModelResponse(
        text=text, model=model, input_tokens=0, output_tokens=0, finish_reason="stop"
    )
    task = "code" if _CODE_TASK.search(str(row.get("task", ""))) else None
    messages = ({"role": "user", "content": str(row.get("prompt", ""))},)
    return VerifyContext(messages=messages, answer=answer, task=task, call_local=None)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
