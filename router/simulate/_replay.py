"""Replay one recorded request under a candidate policy: where it would go and what it would cost.

The decision is the router's own: `router._decide.decide` runs on the recorded request, with a
classifier that answers the difficulty score recorded at the time. Costs are the recorded token
counts priced with the candidate policy's price table. Whatever the ledger cannot tell (how a
model that never saw the request would have answered) is estimated and noted on the result, by
reason (see `ESTIMATES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from router._completion import Decision
from router._decide import decide
from router._request import RoutedRequest
from router.ledger._types import quantize_money
from router.policy import Policy, preferred_frontier
from router.pricing import LocalCostModel, PriceTable, UnitPrice, load_price_table
from router.simulate._recorded import Recorded, RecordedCall

ZERO = Decimal(0)

ESTIMATES: dict[str, str] = {
    "frontier_tokens_from_local": "would now go to the frontier, which never saw them: "
    "frontier output tokens estimated from the local answer's",
    "local_quality_unknown": "would now stay local, which never answered them: local tokens "
    "taken from the frontier answer, and the local answer assumed to pass verification",
    "frontier_model_changed": "the candidate prefers another frontier model: its tokens taken "
    "from the recorded model's answer",
    "no_recorded_score": "recorded without a classifier score: routed by the candidate's "
    "token-count rule, as the router does when it has no classifier",
    "task_unknown": "the candidate has per-task frontier rules but the prompt was not captured: "
    "the task is taken to be 'other'",
    "baseline_repriced": "recorded under another price table or baseline model: baseline "
    "recomputed from the prompt's tokens and the answer's output tokens",
}


@dataclass(frozen=True, slots=True)
class Replayed:
    """What one request would have done under the candidate policy."""

    tier: str | None  # the tier that answers; None when the request fails
    escalated: bool
    cost_usd: Decimal
    baseline_usd: Decimal
    estimates: frozenset[str]


class _RecordedScore:
    """A classifier that answers with the score the router recorded for this request."""

    def __init__(self, score: float) -> None:
        self._score = score

    def score(self, prompt: str, response: str | None = None) -> float:
        return self._score

    def score_batch(
        self, prompts: Sequence[str], responses: Sequence[str | None] | None = None
    ) -> list[float]:
        return [self._score for _ in prompts]


@dataclass
class _Case:
    """One request being replayed: the record, the effective candidate policy and notes."""

    rec: Recorded
    policy: Policy
    prices: PriceTable
    sensitive: bool
    notes: set[str] = field(default_factory=set)

    def can_escalate(self) -> bool:
        return not self.sensitive and bool(self.policy.frontier.models)

    def frontier(self) -> str:
        """The frontier model the candidate tries first for this request (it has one)."""
        order = preferred_frontier(self.policy, self.rec.prompt or "")
        if self.policy.frontier.rules and self.rec.prompt is None:
            self.notes.add("task_unknown")
        return order[0]

    def price(self, model: str, tier: str, tokens_in: int, tokens_out: int) -> Decimal:
        unit = self.prices.local.unit_price() if tier == "local" else self.prices.unit_price(model)
        return quantize_money(unit.cost(tokens_in, tokens_out))

    def reprice(self, calls: Iterable[RecordedCall]) -> Decimal:
        return sum((self.price(c.model, c.tier, c.tokens_in, c.tokens_out) for c in calls), ZERO)


class Replayer:
    """Replays recorded requests under one candidate policy (and its team/app overrides)."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._prices: dict[tuple[str | None, str | None], PriceTable] = {}

    def replay(self, rec: Recorded) -> Replayed:
        policy = self._policy.for_request(rec.team, rec.app)
        sensitive = rec.rule == "sensitive" or policy.privacy.local_only
        case = _Case(rec, policy, self._price_table(rec, policy), sensitive)
        decided = self._decide(case).tier
        first = rec.first_tier
        if first is None:  # refused or failed before any model call: nothing to replay
            tier, escalated, cost = rec.tier, False, case.reprice(rec.calls)
        elif decided == "local":
            tier, escalated, cost = _stay_local(case) if first == "local" else _now_local(case)
        else:
            frontier_first = first == "frontier"
            tier, escalated, cost = _go_frontier(case) if frontier_first else _now_frontier(case)
        baseline = _baseline(case)
        return Replayed(tier, escalated, cost, baseline, frozenset(case.notes))

    def _decide(self, case: _Case) -> Decision:
        rec, policy = case.rec, case.policy
        scorer = (
            _RecordedScore(rec.score)
            if rec.rule == "classifier" and rec.score is not None
            else None
        )
        if scorer is None and policy.routing.rule == "classifier" and not case.sensitive:
            case.notes.add("no_recorded_score")
        request = RoutedRequest(
            request_id=rec.request_id,
            messages=({"role": "user", "content": rec.prompt or ""},),
            sensitive=case.sensitive,
            team=rec.team,
            app=rec.app,
            token_count=rec.prompt_tokens,
            policy=policy,
        )
        return decide(request, policy, scorer)

    def _price_table(self, rec: Recorded, policy: Policy) -> PriceTable:
        key = (rec.team, rec.app)
        table = self._prices.get(key)
        if table is None:
            table = self._prices[key] = price_table(policy)
        return table


def price_table(policy: Policy) -> PriceTable:
    """The prices a router running `policy` charges at (as `Router` builds them)."""
    overrides = {
        n: UnitPrice(p.input_per_mtok, p.output_per_mtok) for n, p in policy.prices.items()
    }
    cost = policy.local_cost
    local = LocalCostModel(cost.per_mtok_usd, cost.gpu_hour_usd, cost.tokens_per_second)
    return load_price_table(overrides, local, frozenset({policy.local.model}))


_Path = tuple[str | None, bool, Decimal]  # answering tier, escalated, cost


def _stay_local(case: _Case) -> _Path:
    """Local first, as recorded: the recorded calls stand, unless the candidate could not have
    escalated (a sensitive request, no frontier model, no fallback when the local model is down,
    or no `verify:` checks to fail), in which case only the local calls are made."""
    rec = case.rec
    checks = bool(case.policy.verify)  # without any, no verification call is made either
    calls = [c for c in rec.calls if checks or c.purpose == "answer"]
    local_calls = [c for c in calls if c.tier == "local"]
    allowed = case.can_escalate() and _may_escalate(case.policy, rec.escalation_reason)
    if not allowed:
        tier = "local" if rec.answer_from("local") is not None else None
        return tier, False, case.reprice(local_calls)
    if rec.tier != "frontier":
        return rec.tier, False, case.reprice(calls)
    cost, _ = _frontier_cost(case, case.frontier())
    return "frontier", True, case.reprice(local_calls) + cost


def _may_escalate(policy: Policy, reason: str | None) -> bool:
    if reason == "local-failed":
        return policy.routing.escalate_when_local_down
    if reason == "verification-failed":
        return bool(policy.verify)
    return True


def _now_local(case: _Case) -> _Path:
    """Went to the frontier; the candidate keeps it local. The local model never answered it."""
    rec = case.rec
    answer = rec.answer_from("frontier")
    tokens_in = answer.tokens_in if answer else rec.prompt_tokens
    tokens_out = answer.tokens_out if answer else 0
    case.notes.add("local_quality_unknown")
    return "local", False, case.price(case.policy.local.model, "local", tokens_in, tokens_out)


def _go_frontier(case: _Case) -> _Path:
    """Frontier first, as recorded: the recorded calls, on the candidate's first-choice model."""
    rec = case.rec
    if not case.can_escalate():  # `decide` never sends these to the frontier; be safe
        return _now_local(case)
    cost, same_model = _frontier_cost(case, case.frontier())
    escalated = same_model and rec.escalation_reason is not None
    tier = rec.tier if same_model else "frontier"
    return tier, escalated, cost


def _now_frontier(case: _Case) -> _Path:
    """Went local first; the candidate sends it straight to the frontier."""
    rec = case.rec
    if not case.can_escalate():  # `decide` never sends these to the frontier; be safe
        return _stay_local(case)
    frontier = case.frontier()
    if rec.answer_from("frontier") is not None:  # it escalated: the frontier answer is known
        cost, _ = _frontier_cost(case, frontier)
        return "frontier", False, cost
    local = rec.answer_from("local")
    case.notes.add("frontier_tokens_from_local")
    tokens_out = local.tokens_out if local else 0
    return "frontier", False, case.price(frontier, "frontier", rec.prompt_tokens, tokens_out)


def _frontier_cost(case: _Case, frontier: str) -> tuple[Decimal, bool]:
    """The recorded frontier calls repriced, when `frontier` is the model that answered; else
    that answer's tokens on `frontier`. Also says whether the model is the recorded one."""
    rec = case.rec
    calls = [c for c in rec.calls if c.tier == "frontier"]
    answer = rec.answer_from("frontier")
    if answer is None or answer.model == frontier:
        return case.reprice(calls), True
    case.notes.add("frontier_model_changed")
    return case.price(frontier, "frontier", answer.tokens_in, answer.tokens_out), False


def _baseline(case: _Case) -> Decimal:
    """The recorded baseline when the candidate prices it the same way; else recomputed."""
    rec, model = case.rec, case.policy.frontier.baseline
    if model == rec.baseline_model and case.prices.version == rec.price_table_version:
        return rec.baseline_cost_usd
    answer = rec.answer_from(rec.tier) if rec.tier else None
    if answer is None:
        return rec.baseline_cost_usd
    case.notes.add("baseline_repriced")
    if answer.model == model:
        return case.price(model, "frontier", answer.tokens_in, answer.tokens_out)
    return case.price(model, "frontier", rec.prompt_tokens, answer.tokens_out)
