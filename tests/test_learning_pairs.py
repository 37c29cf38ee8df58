"""The pairs the learning benchmark validates a fit on (`benchmarks.learning.validation_pairs`)."""

from __future__ import annotations

from benchmarks.learning import validation_pairs
from router.evaluation._data import OutcomeRow


def _rows(means: dict[str, float], n: int = 8) -> list[OutcomeRow]:
    """`n` rows where model `m` scores 1 on the first `means[m] * n` of them."""
    return [
        OutcomeRow(
            f"r{i}",
            f"prompt {i}",
            {m: float(i < q * n) for m, q in means.items()},
            local_model="mid-low",
            frontier_model="mid-high",
        )
        for i in range(n)
    ]


def test_own_pair_then_weakest_to_strongest_then_quartiles() -> None:
    rows = _rows({"weak": 0.125, "mid-low": 0.25, "mid": 0.5, "mid-high": 0.75, "strong": 1.0})
    assert validation_pairs(rows) == [("mid-low", "mid-high"), ("weak", "strong")]


def test_a_model_scored_on_fewer_than_half_the_rows_is_not_ranked() -> None:
    rows = _rows({"weak": 0.0, "mid-low": 0.25, "mid-high": 0.75, "strong": 0.875})
    rows[0] = OutcomeRow("r0", "p", {**rows[0].scores, "rare": 1.0}, "", "", "mid-low", "mid-high")
    pairs = validation_pairs(rows)
    assert all("rare" not in pair for pair in pairs)
    assert pairs[1] == ("weak", "strong")


def test_a_file_of_two_models_has_one_pair() -> None:
    rows = _rows({"mid-low": 0.25, "mid-high": 0.75})
    assert validation_pairs(rows) == [("mid-low", "mid-high")]
