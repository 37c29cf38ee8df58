"""Run a verifier within a latency budget and collect every verdict for the ledger."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Literal

from router.verify._compose import VerifierLike, as_verifier
from router.verify._context import Observer, VerifyContext
from router.verify._verdict import Verdict, VerifierError

log = logging.getLogger("router")

Status = Literal["passed", "failed", "error", "timeout"]


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome of verifying one answer.

    `status`: "passed", "failed", "error" (a verifier failed to run) or "timeout" (the budget
    ran out). For the last two the policy decides: `accepted(fail_open=...)`. `verdicts` holds
    every individual verifier's verdict in the order they finished (failed-to-run ones too),
    with timings; never any content. `error` names the verifier and cause for error/timeout.
    """

    status: Status
    verdicts: tuple[Verdict, ...]
    latency_ms: float
    confidence: float | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it did not pass: one short line per failing (or failed-to-run) verdict."""
        return tuple(f"{v.verifier}: {v.reason}" for v in self.verdicts if not v.passed)

    def accepted(self, *, fail_open: bool) -> bool:
        """Whether the answer stands: passed, or could not be checked and the policy fails open."""
        if self.status in ("error", "timeout"):
            return fail_open
        return self.passed


async def run_verifiers(
    verifier: VerifierLike, ctx: VerifyContext, *, budget_s: float
) -> VerificationResult:
    """Verify `ctx.answer` within `budget_s` (and `ctx.deadline_s`, whichever is shorter).

    Never raises for a verifier's sake: a verifier that fails to run gives status "error", and
    running out of time gives "timeout" (the running model call is cancelled).
    """
    check = as_verifier(verifier)
    budget = max(0.0, min(budget_s, ctx.deadline_s))
    seen: list[Verdict] = []
    ctx = replace(ctx, deadline_s=budget, observe=_tee(seen, ctx))
    started = time.perf_counter()
    try:
        async with asyncio.timeout(budget) as scope:
            overall = await check.verify(ctx)
    except VerifierError as exc:
        error = f"{exc.verifier}: {exc.cause}"
        return _finish(_result("error", seen, started, error=error))
    except TimeoutError:
        if not scope.expired():
            raise
        timeout = Verdict(False, 0.0, f"timed out after {budget:g}s", check.name, _ms(started))
        error = f"{check.name}: timed out after {budget:g}s"
        return _finish(_result("timeout", [*seen, timeout], started, error=error))
    status: Status = "passed" if overall.passed else "failed"
    return _finish(_result(status, seen or [overall], started, confidence=overall.confidence))


def _tee(seen: list[Verdict], ctx: VerifyContext) -> Observer:
    outer = ctx.observe

    def observe(verdict: Verdict) -> None:
        seen.append(verdict)
        if outer is not None:
            outer(verdict)

    return observe


def _result(
    status: Status,
    seen: list[Verdict],
    started: float,
    *,
    confidence: float | None = None,
    error: str | None = None,
) -> VerificationResult:
    return VerificationResult(status, tuple(seen), _ms(started), confidence, error)


def _finish(result: VerificationResult) -> VerificationResult:
    names = ",".join(f"{v.verifier}={'ok' if v.passed else 'fail'}" for v in result.verdicts)
    log.info("verification %s in %.0f ms: %s", result.status, result.latency_ms, names)
    return result


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
