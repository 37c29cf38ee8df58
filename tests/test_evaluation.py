"""Routing metrics on tiny hand-computed examples, ties included."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from router.evaluation import (
    DataFormatError,
    apgr,
    calibrate,
    cost_saved,
    cpt,
    evaluate_file,
    format_metrics,
    load_outcomes,
    multi_pair,
    oracle_curve,
    pair_metrics,
    pick_pair,
    policy_fragment,
    random_cost_saved,
    routing_curve,
)

# Four prompts. Only prompt 1 gains from escalation (local 0 -> frontier 1).
LOCAL = [1.0, 0.0, 0.0, 1.0]
FRONTIER = [1.0, 1.0, 0.0, 1.0]  # q_local 0.5, q_frontier 0.75, 95% target 0.7125


def _rows(tmp_path: Path, rows: list[dict[str, object]], name: str = "d.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _file(tmp_path: Path) -> Path:
    rows = [
        {
            "id": f"p{i}",
            "prompt": f"prompt {i} " + "word " * i,
            "scores": {"small": lo, "big": fr, "mid": 0.5},
            "local_model": "small",
            "frontier_model": "big",
        }
        for i, (lo, fr) in enumerate(zip(LOCAL, FRONTIER, strict=True))
    ]
    return _rows(tmp_path, rows)


def test_curve_with_distinct_scores_matches_hand_computation():
    curve = routing_curve([0.1, 0.9, 0.5, 0.3], LOCAL, FRONTIER)
    assert list(curve.shares) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert list(curve.quality) == [0.5, 0.75, 0.75, 0.75, 0.75]
    assert list(curve.thresholds[1:]) == [0.9, 0.5, 0.3, 0.1]
    # PGR 0,1,1,1,1 -> area 0.25 * 0.5 + 0.75 * 1
    assert apgr(curve) == pytest.approx(0.875)
    assert cpt(curve, 0.2) == 0.25
    assert cpt(curve, 0.5) == 0.25
    assert cpt(curve, 0.8) == 0.25
    assert cost_saved(curve) == pytest.approx(0.75)


def test_a_constant_scorer_earns_nothing():
    curve = routing_curve([0.5] * 4, LOCAL, FRONTIER)
    assert list(curve.shares) == [0.0, 1.0]
    assert apgr(curve) == pytest.approx(0.5)  # the random line
    assert cpt(curve, 0.5) == 1.0
    assert cost_saved(curve) == 0.0


def test_tied_prompts_move_together():
    # Prompts 1 and 2 tie at 0.9: they escalate as one group (share 0.5).
    curve = routing_curve([0.2, 0.9, 0.9, 0.2], LOCAL, FRONTIER)
    assert list(curve.shares) == [0.0, 0.5, 1.0]
    assert list(curve.quality) == [0.5, 0.75, 0.75]
    assert apgr(curve) == pytest.approx(0.75)  # 0.5 * 0.5 + 0.5 * 1
    assert cpt(curve, 0.5) == 0.5
    assert cost_saved(curve) == pytest.approx(0.5)


def test_fractional_scores_and_a_harmful_escalation():
    local, frontier = [0.2, 0.6, 1.0], [0.8, 0.9, 0.5]  # q_local 0.6, q_frontier 0.7333...
    curve = routing_curve([3.0, 2.0, 1.0], local, frontier)
    assert curve.quality == pytest.approx([0.6, 0.8, 0.9, 0.73333333])
    gap = 0.7333333333333333 - 0.6
    pgr = [(q - 0.6) / gap for q in (0.6, 0.8, 0.9, 0.7333333333333333)]
    area = sum((pgr[i] + pgr[i + 1]) / 2 / 3 for i in range(3))
    assert apgr(curve) == pytest.approx(area)
    assert cost_saved(curve) == pytest.approx(2 / 3)  # 0.8 >= 0.95 * 0.7333 at share 1/3


def test_no_gap_and_local_already_good_enough():
    same = routing_curve([0.3, 0.1], [1.0, 0.0], [1.0, 0.0])
    assert math.isnan(apgr(same))
    assert cpt(same, 0.5) == 0.0
    assert cost_saved(same) == 1.0
    assert random_cost_saved(0.96, 1.0) == 1.0


def test_random_routing_cost_saved_is_linear():
    assert random_cost_saved(0.5, 0.75) == pytest.approx(1 - (0.7125 - 0.5) / 0.25)


def test_curve_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        routing_curve([0.1], [1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        routing_curve([math.nan, 0.1], [1.0, 0.0], [1.0, 1.0])


def test_oracle_is_an_upper_bound(tmp_path: Path):
    pair = pick_pair(load_outcomes(_file(tmp_path)))
    best = oracle_curve(pair)
    assert apgr(best) >= apgr(routing_curve([0.1, 0.9, 0.5, 0.3], pair.local, pair.frontier))
    assert cost_saved(best) == pytest.approx(0.75)


def test_pair_metrics_and_multi_pair(tmp_path: Path):
    rows = load_outcomes(_file(tmp_path))
    m = pair_metrics([0.1, 0.9, 0.5, 0.3], pick_pair(rows))
    assert (m.q_local, m.q_frontier, m.n, m.skipped) == (0.5, 0.75, 4, 0)
    assert m.apgr == pytest.approx(0.875)
    assert m.frontier_share_at_95 == pytest.approx(0.25)
    # Pairs with a >= 0.05 gap: small->big, small->mid? no (0.5 vs 0.5); mid->big (0.5 vs 0.75).
    mean_apgr, _saved, n_pairs = multi_pair(rows, [0.1, 0.9, 0.5, 0.3])
    assert n_pairs == 2
    # mid->big (local 0.5 everywhere; in score order p1, p2, p3, p0 gain +.5, -.5, +.5, +.5): the
    # recovered gap is 0, 0.5, 0, 0.5, 1 at shares 0..1: APGR 0.375; the mean with 0.875 is 0.625.
    assert mean_apgr == pytest.approx((0.875 + 0.375) / 2)


def test_calibrate_never_overshoots_the_share_and_rounds_safely(tmp_path: Path):
    pair = pick_pair(load_outcomes(_file(tmp_path)))
    scores = [0.1, 0.9, 0.5, 0.3]
    cal = calibrate(scores, pair, target_share=0.6)
    assert (cal.threshold, cal.share) == (0.5, 0.5)
    assert sum(s >= cal.threshold for s in scores) / 4 == cal.share
    by_quality = calibrate(scores, pair, target_quality=0.95)
    assert by_quality.share == 0.25
    assert 0.5 < by_quality.threshold <= 0.9
    nothing = calibrate(scores, pair, target_share=0.0)
    assert nothing.share == 0.0
    assert all(s < nothing.threshold for s in scores)
    text = policy_fragment(cal, "d.jsonl")
    assert text.startswith("routing:\n  threshold: 0.5  # gives 50.0% frontier")
    with pytest.raises(ValueError, match="exactly one"):
        calibrate(scores, pair)


def test_calibrated_threshold_separates_close_scores(tmp_path: Path):
    pair = pick_pair(load_outcomes(_file(tmp_path)))
    scores = [0.1, 0.123456789, 0.12345678, 0.3]
    cal = calibrate(scores, pair, target_share=0.5)
    assert sum(s >= cal.threshold for s in scores) == 2


@pytest.mark.parametrize(
    ("local", "frontier", "noted"),
    [("small", "big", False), ("small", "mid", True), ("big", "small", True)],
)
def test_a_pair_without_a_quality_gap_is_flagged(tmp_path: Path, local, frontier, noted):
    """APGR divides by the gap and a local model within 5% already meets the 95% target: the
    text output says the figures mean little for such a pair instead of printing them bare."""
    pair = pick_pair(load_outcomes(_file(tmp_path)), local, frontier)
    text = format_metrics(pair_metrics([0.1, 0.9, 0.5, 0.3], pair), "ours")
    assert ("not 5 points better" in text) is noted
    assert ("--local-model / --frontier-model" in text) is noted


def test_pick_pair_skips_rows_without_both_models(tmp_path: Path):
    rows = [
        {"id": "a", "prompt": "x", "scores": {"s": 0.0, "b": 1.0}},
        {"id": "b", "prompt": "y", "scores": {"s": 1.0}},
    ]
    pair = pick_pair(load_outcomes(_rows(tmp_path, rows)), "s", "b")
    assert (len(pair.rows), pair.skipped) == (1, 1)
    with pytest.raises(DataFormatError, match="--local-model"):
        pick_pair(load_outcomes(_rows(tmp_path, rows)))
    with pytest.raises(DataFormatError, match="models in the file: b, s"):
        pick_pair(load_outcomes(_rows(tmp_path, rows)), "s", "nope")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "d.jsonl:2: not valid JSON"),
        ("[1, 2]", "d.jsonl:2: not a JSON object"),
        ('{"id": "x", "scores": {"m": 1}}', "d.jsonl:2: 'prompt' must be a string"),
        ('{"id": "x", "prompt": "p", "scores": {}}', "d.jsonl:2: no numeric score for any model"),
        ('{"id": "x", "prompt": "p", "scores": []}', "d.jsonl:2: 'scores' is not an object"),
    ],
)
def test_load_outcomes_names_the_bad_line(tmp_path: Path, line: str, message: str):
    """`load_outcomes` is the shared reader (`read_outcomes`) with `strict`: the first row that
    cannot be used is an error naming its line."""
    good = json.dumps({"id": "ok", "prompt": "p", "scores": {"m": 1}})
    path = tmp_path / "d.jsonl"
    path.write_text(f"{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        load_outcomes(path)


def test_load_outcomes_rescales_another_score_range(tmp_path: Path):
    rows = [
        {"id": "a", "prompt": "p", "scores": {"m": 2, "n": 10}},
        {"id": "b", "prompt": "q", "scores": {"m": 6}},
    ]
    read = load_outcomes(_rows(tmp_path, rows))
    assert [dict(r.scores) for r in read] == [{"m": 0.0, "n": 1.0}, {"m": 0.5}]


def test_evaluate_file_end_to_end_with_plot(tmp_path: Path):
    table = {"prompt 0 ": 0.1, "prompt 1 word ": 0.9}

    def scorer(prompts: list[str]) -> list[float]:
        return [table.get(p, 0.4) for p in prompts]

    plot = tmp_path / "curve.png"
    result = evaluate_file(_file(tmp_path), {"mine": scorer}, plot=plot)
    assert result.scorers["mine"].metrics.cost_saved_at_95 == pytest.approx(0.75)
    assert plot.read_bytes().startswith(b"\x89PNG")
    doc = result.to_json()
    assert doc["scorers"]["mine"]["apgr"] == pytest.approx(result.scorers["mine"].metrics.apgr)
    assert "APGR" in result.to_text()
