"""The checks behind `router doctor`, one small function per external system."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from router.backends import LiteLLMBackend, OllamaBackend
from router.errors import BackendError, LedgerError, SetupError
from router.policy import FrontierModel, LocalModel, Policy, load_policy

_OLLAMA_READ_TIMEOUT_S = 10.0  # listing models is quick; a real request may take longer


@dataclass(frozen=True, slots=True)
class Finding:
    """One check: what was checked, and what is wrong and how to fix it (None when it is fine).
    `detail` says what was found when it is fine."""

    subject: str
    problem: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        if self.problem is not None:
            return f"FAIL  {self.subject}: {self.problem}"
        return f"ok    {self.subject}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True, slots=True)
class SetupReport:
    """Every check for one policy, in the order a request would need them."""

    policy: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(f"{f.subject}: {f.problem}" for f in self.findings if not f.ok)

    def render(self) -> str:
        lines = [f"Checking this machine for policy {self.policy}:"]
        lines += [f"  {finding}" for finding in self.findings]
        count = len(self.problems)
        if count == 0:
            lines.append(f"all {len(self.findings)} checks passed")
        else:
            lines.append(f"{count} problem{'s' * (count > 1)}: fix and run `router doctor` again")
        return "\n".join(lines)

    def raise_for_problems(self) -> None:
        """Raise `SetupError` listing every problem, if there is one."""
        if not self.ok:
            raise SetupError(self.render(), self.problems)


def check_setup(
    policy: Policy | str | Path | None = None,
    *,
    ledger_url: str | None = None,
    check_ledger: bool = True,
) -> SetupReport:
    """Check the machine for `policy` (a `Policy`, a file or a shipped name; default: default).

    The ledger checked is `ledger_url`, else the policy's (else `$ROUTER_LEDGER_URL`, else the
    SQLite file in the data directory). From async code, `await acheck_setup(...)`.
    """
    return asyncio.run(acheck_setup(policy, ledger_url=ledger_url, check_ledger=check_ledger))


async def acheck_setup(
    policy: Policy | str | Path | None = None,
    *,
    ledger_url: str | None = None,
    check_ledger: bool = True,
) -> SetupReport:
    """`check_setup`, for callers already on an event loop."""
    loaded = load_policy(policy)
    findings = [await _local(loaded.local)]
    findings += await asyncio.gather(*(_frontier(m) for m in frontier_models(loaded)))
    if check_ledger and loaded.ledger.enabled:
        findings.append(await asyncio.to_thread(_ledger, ledger_url or loaded.ledger.url))
    return SetupReport(f"{loaded.name!r} (version {loaded.version})", tuple(findings))


def frontier_models(policy: Policy) -> tuple[FrontierModel, ...]:
    """Every frontier model a request may call: the policy's, and its overrides' own."""
    found = dict.fromkeys(policy.frontier.models)
    for team in policy.teams:
        found.update(dict.fromkeys(policy.for_request(team=team).frontier.models))
    for app in policy.apps:
        found.update(dict.fromkeys(policy.for_request(app=app).frontier.models))
    return tuple(found)


async def _local(config: LocalModel) -> Finding:
    backend = OllamaBackend(
        config.model,
        config.host,
        connect_timeout_s=config.connect_timeout_s,
        read_timeout_s=min(config.read_timeout_s, _OLLAMA_READ_TIMEOUT_S),
    )
    subject = f"local model {config.model}"
    try:
        await backend.check_ready()
    except BackendError as exc:
        return Finding(subject, str(exc))
    finally:
        await backend.aclose()
    return Finding(subject, detail=f"Ollama at {backend.host} has it")


async def _frontier(config: FrontierModel) -> Finding:
    backend = LiteLLMBackend(
        config.model,
        api_base=config.api_base,
        api_key=config.api_key,
        api_key_env=config.api_key_env,
    )
    subject = f"frontier model {config.model}"
    try:
        await asyncio.to_thread(backend.check_key)  # imports litellm: off the loop
    except BackendError as exc:
        return Finding(subject, str(exc))
    return Finding(subject, detail="API key set")


def _ledger(url: str | None) -> Finding:
    from router.ledger._admin import check_ledger_writable  # noqa: PLC0415 - SQLAlchemy

    try:
        where = check_ledger_writable(url)
    except LedgerError as exc:
        return Finding("ledger", str(exc))
    return Finding("ledger", detail=f"{where} is writable")
