"""The router's counters, kept as plain sums in the process and reported at collection time.

A synchronous counter's `add()` costs about 8 us in the SDK (a `Measurement` whose attributes
are validated, hashed and aggregated under a lock), and a request made three of them. Here a
request adds to plain sums per attribute set under one lock (under a microsecond), and
observable (asynchronous) instruments of the same names, units and descriptions report the
totals when a reader collects: work per series per collection, not per request. An exporter
reads the same cumulative values.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation

from router.telemetry._attributes import Attributes, known, known_pair

if TYPE_CHECKING:
    from router._records import RequestRecord

Key = tuple[str | None, ...]
# The SDK's default cardinality limit: attribute sets past it are summed into one overflow
# series, as the SDK does for a synchronous counter, so a flood of team names stays bounded.
SERIES_MAX = 2000
_OVERFLOW_KEY: Key = ()
_OVERFLOW: Attributes = {"otel.metric.overflow": True}


class Sums:
    """Running totals per attribute set (`build(*key)`), observed by one instrument.

    `add` is called with the shared lock held; `observe` (the SDK's callback, on the reader's
    thread) takes it to copy the totals.
    """

    def __init__(self, lock: threading.Lock, build: Callable[..., Attributes]) -> None:
        self._lock, self._build = lock, build
        self._series: dict[Key, list[Any]] = {}  # key -> [attributes, total]

    def add(self, amount: float, *key: str | None) -> None:
        series = self._series.get(key)
        if series is None:
            series = self._open(key)
        series[1] += amount

    def _open(self, key: Key) -> list[Any]:
        if len(self._series) >= SERIES_MAX:
            key, attributes = _OVERFLOW_KEY, _OVERFLOW
            if key in self._series:
                return self._series[key]
        else:
            attributes = self._build(*key)
        series = self._series[key] = [attributes, 0]
        return series

    def observe(self, _options: CallbackOptions) -> list[Observation]:
        with self._lock:
            return [Observation(total, attributes) for attributes, total in self._series.values()]


class Counters:
    """`router.requests`, `router.escalations`, `router.cost`, `router.savings` and
    `router.verification.failures` (docs/telemetry.md), counted from finished requests."""

    def __init__(self, meter: Meter) -> None:
        self._lock = lock = threading.Lock()
        self.requests = Sums(lock, known_pair("router.tier", "router.status"))
        self.escalations = Sums(lock, lambda reason: {"router.escalation_reason": reason})
        self.cost = Sums(lock, _spent_on)
        self.savings = Sums(lock, known_pair("router.tier", "router.team"))
        self.failures = Sums(lock, known_pair("router.tier", "router.model"))
        _observe(meter, self)

    def record(self, record: RequestRecord) -> None:
        tier, team = record.tier, record.team
        savings = float(record.savings_usd)
        costs = [(float(a.cost_usd), a.tier, a.model, a.purpose) for a in record.attempts]
        with self._lock:
            self.requests.add(1, tier, record.status)
            self.savings.add(savings, tier, team)
            if record.escalation_reason is not None:
                self.escalations.add(1, record.escalation_reason)
            if record.verification == "failed":
                self.failures.add(1, tier, record.model)
            for cost, attempt_tier, model, purpose in costs:
                self.cost.add(cost, attempt_tier, model, team, purpose)


# name, the `Counters` field it reads, unit, description; `router.savings` can go down.
_INSTRUMENTS = (
    ("router.requests", "requests", "{request}", "Routed requests, by tier and status"),
    (
        "router.escalations",
        "escalations",
        "{request}",
        "Requests answered by a backend other than the first choice, by reason",
    ),
    ("router.cost", "cost", "USD", "What model attempts cost"),
    (
        "router.savings",
        "savings",
        "USD",
        "Baseline cost minus actual cost (negative when routing cost more)",
    ),
    ("router.verification.failures", "failures", "{request}", "Answers that failed verification"),
)


def _observe(meter: Meter, counters: Counters) -> None:
    """The observable instruments, whose callbacks read `counters`' totals."""
    for name, field, unit, description in _INSTRUMENTS:
        create = (
            meter.create_observable_up_down_counter
            if name == "router.savings"
            else meter.create_observable_counter
        )
        sums: Sums = getattr(counters, field)
        create(name, [sums.observe], unit=unit, description=description)


_shared: weakref.WeakKeyDictionary[MeterProvider, Counters] = weakref.WeakKeyDictionary()
_on_global: list[Counters] = []  # at most one: the counters on the global provider
_registry_lock = threading.Lock()


def counters_for(meter_provider: MeterProvider | None, meter: Meter) -> Counters:
    """The counters of `meter_provider` (None: the global one), made on first use with `meter`.

    Every `Telemetry` on one provider must share them: the SDK keeps the callbacks of the first
    observable instrument registered under a name and ignores a duplicate's. The global
    provider counts as one whether it is the API's proxy (no SDK set yet) or the SDK set later,
    since the proxy's instruments are re-made on the SDK when it is set.
    """
    with _registry_lock:
        if meter_provider is None or meter_provider is metrics.get_meter_provider():
            if not _on_global:
                _on_global.append(Counters(meter))
            return _on_global[0]
        try:
            found = _shared.get(meter_provider)
            if found is None:
                found = _shared[meter_provider] = Counters(meter)
        except TypeError:  # a provider that cannot be weakly referenced: not shared
            return Counters(meter)
        return found


def _spent_on(tier: str, model: str, team: str | None, purpose: str) -> Attributes:
    return known(
        {
            "router.tier": tier,
            "gen_ai.request.model": model,
            "router.team": team,
            "router.attempt.purpose": purpose,
        }
    )
