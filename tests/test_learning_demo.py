"""`router demo --learn` end to end on the simulated models, and the judges benchmark."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks import judges
from router.cli import main


@pytest.mark.slow  # three routing passes and a fit: about 10 s on 2 cores
def test_the_learning_demo_shadows_labels_learns_and_compares(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--learn", "--limit", "40", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.output)
    assert demo["shadow_rate"] == 0.5 and demo["week1_requests"] == 20
    assert demo["labels"].get("shadow", 0) > 0
    assert Decimal(demo["learning_spend_usd"]) > 0
    assert demo["before"]["requests"] == demo["after"]["requests"] == 20
    assert demo["learn"].startswith("too few labels")  # 20 requests cannot teach it anything
    assert demo["before"] == demo["after"]  # so nothing changed


def test_the_judges_benchmark_measures_agreement(tmp_path: Path) -> None:
    rows = [
        {
            "id": str(i),
            "prompt": "Pick one:\nA. x\nB. y\nAnswer:",
            "scores": {"s": float(i % 2), "b": 1.0},
            "local_model": "s",
            "frontier_model": "b",
            "responses": {"s": "The answer is A" if i % 2 else "The answer is B", "b": "A."},
        }
        for i in range(10)
    ]
    (tmp_path / "mini.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    found = judges.cases(tmp_path / "mini.jsonl", "s", "b")
    result = judges.agreement("exact_answer", judges.exact_answer, "mini", found)
    # Local right (agrees with A) on odd rows: gain 0; wrong on even rows: gain 1.
    assert (result.labelled, result.sign_agreement, result.mae) == (10, 1.0, 0.0)
    assert "| exact_answer | mini | 10 | 100.0% | 100.0% |" in judges.table([result])
