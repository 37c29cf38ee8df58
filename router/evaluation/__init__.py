"""Routing metrics and the evaluation harness (pure functions over numpy arrays).

Definitions follow RouteLLM's `evals/evaluate.py` as restated in the data README: APGR,
CPT(x), and the frontier share / cost saved at 95% of frontier quality, with prompts of equal
score moving together. `routing_curve` is the one place the sweep is computed.
"""

from __future__ import annotations

from router.evaluation._calibrate import Calibration, calibrate, policy_fragment
from router.evaluation._data import DataFormatError, OutcomeRow, PairOutcomes, pick_pair
from router.evaluation._harness import EvalResult, ScorerResult, evaluate_file
from router.evaluation._metrics import (
    RoutingCurve,
    apgr,
    cost_saved,
    cpt,
    random_cost_saved,
    routing_curve,
    share_for_quality,
)
from router.evaluation._plot import oracle_curve, plot_curves
from router.evaluation._read import OutcomeFile, load_outcomes, read_outcomes
from router.evaluation._report import PairMetrics, format_metrics, multi_pair, pair_metrics

__all__ = [
    "Calibration",
    "DataFormatError",
    "EvalResult",
    "OutcomeFile",
    "OutcomeRow",
    "PairMetrics",
    "PairOutcomes",
    "RoutingCurve",
    "ScorerResult",
    "apgr",
    "calibrate",
    "cost_saved",
    "cpt",
    "evaluate_file",
    "format_metrics",
    "load_outcomes",
    "multi_pair",
    "oracle_curve",
    "pair_metrics",
    "pick_pair",
    "plot_curves",
    "policy_fragment",
    "random_cost_saved",
    "read_outcomes",
    "routing_curve",
    "share_for_quality",
]
