"""Models nobody can price: litellm's bundled price map does not know them and `prices:` does
not name them. Part of the one validator (`_validate.check_document`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from router.errors import ConfigError
from router.policy._merge import deep_merge
from router.policy._model import Frontier
from router.policy._problems import KeyPath, Problem, closest, problem_at
from router.pricing import PriceTable, UnitPrice, load_price_table

if TYPE_CHECKING:
    from router.policy._load import Resolved

OVERRIDE_KINDS = ("teams", "apps")


def price_problems(doc: Resolved) -> Iterator[Problem]:
    """Models litellm's bundled price map does not know and the policy gives no price for.

    Works on the raw merged data, so unknown models are reported next to any other problem.
    """
    base = {k: v for k, v in doc.data.items() if k not in OVERRIDE_KINDS}
    yield from _unpriced(base, doc, (), set())
    known = set(_models(base).values()) | {_baseline(base)}
    for kind in OVERRIDE_KINDS:
        overrides = doc.data.get(kind)
        for name, override in overrides.items() if isinstance(overrides, Mapping) else ():
            if isinstance(override, Mapping):
                yield from _unpriced(deep_merge(base, override), doc, (kind, name), known)


def _unpriced(
    data: Mapping[str, Any], doc: Resolved, at: KeyPath, known: set[str]
) -> Iterator[Problem]:
    table = _table(data)
    for index, model in _models(data).items():
        if model not in known and not _priced(table, model):
            path = (*at, "frontier", "models", index, "model")
            yield problem_at(doc.lines, doc.origin, [path], _unknown_model(model, table))
    baseline = _baseline(data)
    if baseline and baseline not in known and not _priced(table, baseline):
        message = (
            f"baseline {baseline!r} has no price, so savings cannot be computed; name a priced "
            f"model or add {baseline!r} under prices:"
        )
        yield problem_at(doc.lines, doc.origin, [(*at, "frontier", "baseline")], message)


def _frontier(data: Mapping[str, Any]) -> Mapping[str, Any]:
    frontier = data.get("frontier")
    return frontier if isinstance(frontier, Mapping) else {}


def _models(data: Mapping[str, Any]) -> dict[int, str]:
    models = _frontier(data).get("models", [m.model_dump() for m in Frontier().models])
    if not isinstance(models, list | tuple):
        return {}
    return {
        i: m["model"]
        for i, m in enumerate(models)
        if isinstance(m, Mapping) and isinstance(m.get("model"), str)
    }


def _baseline(data: Mapping[str, Any]) -> str:
    baseline = _frontier(data).get("baseline", Frontier().baseline)
    return baseline if isinstance(baseline, str) else ""


def _table(data: Mapping[str, Any]) -> PriceTable:
    prices = data.get("prices")
    named = [k for k in prices if isinstance(k, str)] if isinstance(prices, Mapping) else []
    return load_price_table(dict.fromkeys(named, UnitPrice(Decimal(0), Decimal(0))))


def _priced(table: PriceTable, model: str) -> bool:
    try:
        table.unit_price(model)
    except ConfigError:
        return False
    return True


def _unknown_model(model: str, table: PriceTable) -> str:
    match = closest(model, table.prices)
    hint = f"did you mean {match!r}? If not, " if match else ""
    return (
        f"unknown model: {table.version} has no price for {model!r}; {hint}add it under "
        "prices: with input_per_mtok and output_per_mtok"
    )
