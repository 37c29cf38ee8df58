"""The verifier seam and its algebra: `a & b` (all pass), `a | b` (any passes), `as_verifier`.

Composition follows three-valued logic, where a verifier that fails to run is "unknown":
- `a & b` stops at the first failure (a failure beats an error); if none failed but one failed
  to run, it raises that `VerifierError`; otherwise it passes with the lowest confidence.
- `a | b` stops at the first pass (a pass beats an error); if none passed but one failed to run,
  it raises that `VerifierError`; otherwise it fails with the highest confidence.
So a composite never hides "could not check"; `run_verifiers` turns it into status "error" and
the policy decides whether the answer stands.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol, TypeAlias, runtime_checkable

from router.verify._context import VerifyContext
from router.verify._verdict import Verdict, VerifierError

CheckResult: TypeAlias = "Verdict | bool"
CheckFn: TypeAlias = Callable[[VerifyContext], "CheckResult | Awaitable[CheckResult]"]


@runtime_checkable
class Verifier(Protocol):
    """Anything with a `name` and `async verify(ctx) -> Verdict`.

    `verify` raises `VerifierError` (a `VerificationError`) when it cannot judge the answer.
    """

    @property
    def name(self) -> str: ...

    async def verify(self, ctx: VerifyContext) -> Verdict: ...


VerifierLike: TypeAlias = "Verifier | CheckFn"


class _Operators(ABC):
    """`&` and `|` for the verifiers shipped here; plain callables are accepted on either side."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def verify(self, ctx: VerifyContext) -> Verdict: ...

    def __and__(self, other: VerifierLike) -> AllOf:
        return AllOf(as_verifier(self), as_verifier(other))

    def __rand__(self, other: VerifierLike) -> AllOf:
        return AllOf(as_verifier(other), as_verifier(self))

    def __or__(self, other: VerifierLike) -> AnyOf:
        return AnyOf(as_verifier(self), as_verifier(other))

    def __ror__(self, other: VerifierLike) -> AnyOf:
        return AnyOf(as_verifier(other), as_verifier(self))


class Check(_Operators):
    """One verifier: a name and a check function (sync or async) returning a `Verdict` or bool.

    `verify` times the check, names the verdict, reports it to `ctx.observe`, and turns any
    exception into `VerifierError` carrying only the exception's class name. A `prose` check
    judges answer text, so it passes an answer that is only tool calls without running.
    """

    def __init__(self, name: str, fn: CheckFn, *, prose: bool = False) -> None:
        self._name = name
        self.fn = fn
        self.prose = prose

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"Check({self.name!r})"

    async def verify(self, ctx: VerifyContext) -> Verdict:
        started = time.perf_counter()
        try:
            if self.prose and ctx.tool_calls_only:
                verdict = Verdict(True, 1.0, "tool calls only: no text to judge")
            else:
                verdict = _to_verdict(await _maybe_await(self.fn(ctx)))
        except VerifierError as exc:
            _observe(ctx, _error_verdict(self.name, exc.cause, started))
            raise
        except Exception as exc:
            cause = type(exc).__name__
            _observe(ctx, _error_verdict(self.name, cause, started))
            raise VerifierError(self.name, cause) from None
        verdict = replace(verdict, verifier=self.name, latency_ms=_ms_since(started))
        _observe(ctx, verdict)
        return verdict


class AllOf(_Operators):
    """Every verifier must pass. Stops at the first failure; confidence is the lowest seen."""

    def __init__(self, *verifiers: Verifier, name: str | None = None) -> None:
        self.verifiers = _flatten(AllOf, verifiers)
        self._label = name

    @property
    def name(self) -> str:
        return self._label or _join(" & ", self.verifiers, AnyOf) or "nothing"

    def __repr__(self) -> str:
        return f"AllOf({self.name!r})"

    async def verify(self, ctx: VerifyContext) -> Verdict:
        started, seen, errors = time.perf_counter(), list[Verdict](), list[VerifierError]()
        for verifier in self.verifiers:
            verdict = await _run_one(verifier, ctx, errors)
            if verdict is None:
                continue
            seen.append(verdict)
            if not verdict.passed:
                reason = f"{verdict.verifier}: {verdict.reason}"
                return self._verdict(False, _lowest(seen), reason, started)
        if errors:
            raise errors[0]
        return self._verdict(True, _lowest(seen), "all passed", started)

    def _verdict(self, ok: bool, confidence: float, reason: str, started: float) -> Verdict:
        return Verdict(ok, confidence, reason, self.name, _ms_since(started))


class AnyOf(_Operators):
    """At least one verifier must pass. Stops at the first pass, whose confidence it keeps
    (evaluation stops there, so it is the highest passing confidence seen)."""

    def __init__(self, *verifiers: Verifier, name: str | None = None) -> None:
        self.verifiers = _flatten(AnyOf, verifiers)
        self._label = name

    @property
    def name(self) -> str:
        return self._label or _join(" | ", self.verifiers, AllOf) or "nothing"

    def __repr__(self) -> str:
        return f"AnyOf({self.name!r})"

    async def verify(self, ctx: VerifyContext) -> Verdict:
        started, seen, errors = time.perf_counter(), list[Verdict](), list[VerifierError]()
        for verifier in self.verifiers:
            verdict = await _run_one(verifier, ctx, errors)
            if verdict is None:
                continue
            if verdict.passed:
                reason = f"{verdict.verifier} passed"
                return Verdict(True, verdict.confidence, reason, self.name, _ms_since(started))
            seen.append(verdict)
        if errors:
            raise errors[0]
        reason = "none passed: " + "; ".join(f"{v.verifier}: {v.reason}" for v in seen)
        best = max((v.confidence for v in seen), default=0.0)
        return Verdict(False, best, reason, self.name, _ms_since(started))


def as_verifier(obj: VerifierLike, *, name: str | None = None) -> Check | AllOf | AnyOf:
    """A composable verifier from a verifier or a plain callable `(ctx) -> bool | Verdict`.

    Callables may be sync or async; a sync one runs on the event loop, so keep it quick.
    `name` defaults to the verifier's name or the function's `__name__`.
    """
    if isinstance(obj, Check | AllOf | AnyOf) and name is None:
        return obj
    if isinstance(obj, Verifier):
        return Check(name or obj.name, obj.verify)
    if callable(obj):
        return Check(name or str(getattr(obj, "__name__", type(obj).__name__)), obj)
    raise TypeError(
        "as_verifier() needs a Verifier (name + async verify(ctx)) or a callable taking a "
        f"VerifyContext and returning bool or Verdict, not {type(obj).__name__}"
    )


async def _run_one(
    verifier: Verifier, ctx: VerifyContext, errors: list[VerifierError]
) -> Verdict | None:
    try:
        return await verifier.verify(ctx)
    except VerifierError as exc:
        errors.append(exc)
        return None


async def _maybe_await(result: CheckResult | Awaitable[CheckResult]) -> CheckResult:
    if inspect.isawaitable(result):
        return await result
    return result


def _to_verdict(result: object) -> Verdict:
    if isinstance(result, Verdict):
        return result
    if isinstance(result, bool):
        return Verdict(result, 1.0 if result else 0.0, "ok" if result else "returned False")
    raise TypeError(f"a check must return bool or Verdict, not {type(result).__name__}")


def _flatten(
    kind: type[AllOf] | type[AnyOf], verifiers: tuple[Verifier, ...]
) -> tuple[Verifier, ...]:
    """`a & b & c` is one AllOf of three (unless an operand was given its own name)."""
    out: list[Verifier] = []
    for verifier in verifiers:
        if isinstance(verifier, kind) and verifier._label is None:
            out.extend(verifier.verifiers)
        else:
            out.append(verifier)
    return tuple(out)


def _join(sep: str, verifiers: tuple[Verifier, ...], other: type[AllOf] | type[AnyOf]) -> str:
    names = (f"({v.name})" if isinstance(v, other) else v.name for v in verifiers)
    return sep.join(names)


def _lowest(verdicts: list[Verdict]) -> float:
    return min((v.confidence for v in verdicts), default=1.0)


def _error_verdict(name: str, cause: str, started: float) -> Verdict:
    return Verdict(False, 0.0, f"failed to run: {cause}", name, _ms_since(started))


def _observe(ctx: VerifyContext, verdict: Verdict) -> None:
    if ctx.observe is not None:
        ctx.observe(verdict)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
