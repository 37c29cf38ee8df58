"""Which (local, frontier) pair `router eval` and `router calibrate` measure on a file.

A flag names a model outright. Otherwise the pair this product routes by default (the shipped
policy's local model and first frontier model) when the file scores both, else the file's own
default pair (`local_model` / `frontier_model` on its rows). Names match loosely across
spellings: `qwen3.5:9b`, `Qwen/Qwen3.5-9B` and `qwen3.5-9b-instruct` are the same model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

from router.evaluation._data import OutcomeRow, default_model

PRODUCT_PAIR = ("qwen3.5:9b", "gpt-5.4")
"""policies/default.yaml's `local.model` and first `frontier.models` entry (a test checks)."""

GIVEN = "given with --local-model / --frontier-model"
PRODUCT = "the pair this product routes by default (policies/default.yaml)"
FILE_DEFAULT = "the file's default pair; the product's pair {} vs {} is not in this file"
_SUFFIX = re.compile(r"(-instruct|-chat|-\d{4}-?\d{2}-?\d{2})+$")


@dataclass(frozen=True, slots=True)
class PairChoice:
    local: str
    frontier: str
    reason: str


def same_model(a: str, b: str) -> bool:
    """True when two spellings name one model (case, provider prefix, separators, suffixes)."""
    return _canonical(a) == _canonical(b)


def _canonical(name: str) -> str:
    base = _SUFFIX.sub("", name.lower().rsplit("/", 1)[-1])
    return re.sub(r"[^a-z0-9.]", "", base)


def find_model(models: Iterable[str], wanted: str) -> str | None:
    """The file's own spelling of `wanted`, if it scores that model."""
    return next((m for m in sorted(models) if same_model(m, wanted)), None)


def models_in(rows: Sequence[OutcomeRow]) -> list[str]:
    return sorted({m for r in rows for m in r.scores})


def choose_pair(
    rows: Sequence[OutcomeRow], local_model: str | None = None, frontier_model: str | None = None
) -> PairChoice:
    """The pair to evaluate, and why it was chosen (printed with the results)."""
    if local_model and frontier_model:
        return PairChoice(local_model, frontier_model, GIVEN)
    models = models_in(rows)
    local, frontier = (find_model(models, name) for name in PRODUCT_PAIR)
    if local and frontier:
        reason = PRODUCT if not (local_model or frontier_model) else f"{PRODUCT}, and {GIVEN}"
        return PairChoice(local_model or local, frontier_model or frontier, reason)
    reason = FILE_DEFAULT.format(*PRODUCT_PAIR)
    return PairChoice(
        local_model or default_model(rows, "local_model"),
        frontier_model or default_model(rows, "frontier_model"),
        reason if not (local_model or frontier_model) else f"{reason}; and {GIVEN}",
    )


def list_models(rows: Sequence[OutcomeRow]) -> str:
    """Each model the file scores: prompts, mean quality, and its role in a pair."""
    roles = _roles(rows)
    lines = [f"{'model':<48} {'prompts':>7} {'quality':>8}  role"]
    for model in models_in(rows):
        scores = [r.scores[model] for r in rows if model in r.scores]
        role = ", ".join(roles.get(model, []))
        lines.append(f"{model:<48} {len(scores):>7} {fmean(scores):>8.4f}  {role}".rstrip())
    choice = choose_pair(rows)
    lines.append(f"router eval evaluates {choice.local} vs {choice.frontier}: {choice.reason}")
    lines.append("any two models form a pair: --local-model NAME --frontier-model NAME")
    return "\n".join(lines)


def _roles(rows: Sequence[OutcomeRow]) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {}
    for attr, side in (("local_model", "local"), ("frontier_model", "frontier")):
        for name in sorted({getattr(r, attr) for r in rows} - {None}):
            roles.setdefault(name, []).append(f"file's default {side}")
    models = models_in(rows)
    for wanted, side in zip(PRODUCT_PAIR, ("local", "frontier"), strict=True):
        if (found := find_model(models, wanted)) is not None:
            roles.setdefault(found, []).append(f"product's {side}")
    return roles
