"""Unit prices in exact `Decimal` USD per million tokens.

Frontier prices come from litellm's bundled price map at the pinned version, read as a JSON file so
that pricing (and the finance reports) never import litellm and never touch the network. A policy
may override any model's price (negotiated rates) and model the local model's cost (amortised GPU
and power), which is otherwise zero at the margin.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from router.errors import ConfigError

MILLION = Decimal(1_000_000)
ZERO = Decimal(0)
_PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """USD per million input and output tokens."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal

    def cost(self, tokens_in: int, tokens_out: int) -> Decimal:
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / MILLION


FREE = UnitPrice(ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class LocalCostModel:
    """What a local token costs: a flat rate per million tokens, or a GPU-hour rate.

    With `gpu_hour_usd` and `tokens_per_second`, a million tokens costs
    `gpu_hour_usd * 1e6 / (tokens_per_second * 3600)` for input and output alike.
    """

    per_mtok_usd: Decimal = ZERO
    gpu_hour_usd: Decimal = ZERO
    tokens_per_second: Decimal = Decimal(50)

    def unit_price(self) -> UnitPrice:
        per_mtok = self.per_mtok_usd
        if self.gpu_hour_usd > 0:
            per_mtok += self.gpu_hour_usd * MILLION / (self.tokens_per_second * 3600)
        return UnitPrice(per_mtok, per_mtok)


@dataclass(frozen=True)
class PriceTable:
    """Prices for every model the router may call. `version` identifies the exact table."""

    version: str
    prices: Mapping[str, UnitPrice]
    local_models: frozenset[str] = field(default_factory=frozenset)
    local: LocalCostModel = field(default_factory=LocalCostModel)

    def unit_price(self, model: str) -> UnitPrice:
        if model in self.local_models or model.startswith(("ollama/", "ollama_chat/")):
            return self.local.unit_price()
        price = self.prices.get(model) or self.prices.get(_bare(model))
        if price is None:
            raise ConfigError(
                f"no price known for model {model!r}; add it under `prices:` in the policy "
                "(input_per_mtok / output_per_mtok in USD)"
            )
        return price

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> Decimal:
        return self.unit_price(model).cost(tokens_in, tokens_out)


def load_price_table(
    overrides: Mapping[str, UnitPrice] | None = None,
    local: LocalCostModel | None = None,
    local_models: frozenset[str] = frozenset(),
) -> PriceTable:
    """litellm's bundled prices, with `overrides` on top. Never imports litellm."""
    base, base_version = _bundled_prices()
    prices = dict(base)
    prices.update(overrides or {})
    version = base_version
    if overrides or (local is not None and local != LocalCostModel()):
        version += "+policy:" + _digest(overrides or {}, local)
    return PriceTable(version, prices, local_models, local or LocalCostModel())


def _bare(model: str) -> str:
    return model.split("/", 1)[1] if "/" in model else model


def _digest(overrides: Mapping[str, UnitPrice], local: LocalCostModel | None) -> str:
    text = repr(sorted((k, v.input_per_mtok, v.output_per_mtok) for k, v in overrides.items()))
    text += repr(local)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _bundled_prices() -> tuple[dict[str, UnitPrice], str]:
    path = _price_map_path()
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    prices: dict[str, UnitPrice] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        cost_in, cost_out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
        if cost_in is None or cost_out is None:
            continue
        # str() first: the JSON floats are exact decimal literals like 2.5e-06.
        prices[name] = UnitPrice(Decimal(str(cost_in)) * MILLION, Decimal(str(cost_out)) * MILLION)
    return prices, "litellm-" + importlib.metadata.version("litellm")


def _price_map_path() -> Path:
    spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    if spec is None or spec.origin is None:
        raise ConfigError("litellm is not installed; reinstall cost-router")
    return Path(spec.origin).parent / _PRICE_MAP_FILE
