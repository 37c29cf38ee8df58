"""`router score` writes the same bytes in every process.

A prompt's n-grams came out of a set, whose order follows each process's string hashing
(PYTHONHASHSEED), and the scores summed weights in that order: the output differed between two
runs by ~2e-16 on about one prompt in ten. `extract` now gives the grams in text order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router.learning._adapt import adapt
from tests.foreign_files import jsonl, rows, write
from tests.test_score_stability import prompts

# Seeds under which main's set-ordered sums gave different bytes for these prompts.
HASH_SEEDS = ("1", "2")


def _score_in_subprocess(source: Path, out: Path, hash_seed: str, *extra: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    code = "import sys; from router.cli import main; sys.exit(main())"
    args = [sys.executable, "-c", code, "score", "--input", str(source), "--output", str(out)]
    subprocess.run([*args, *extra], env=env, check=True, capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("artefact", ["shipped", "adapted"])
def test_score_output_is_byte_identical_across_hash_seeds(tmp_path: Path, artefact: str) -> None:
    extra: tuple[str, ...] = ()
    if artefact == "adapted":
        adapt(write(tmp_path / "t.jsonl", jsonl(rows())), tmp_path / "adapted")
        extra = ("--classifier", str(tmp_path / "adapted"))
    asked = [{"id": i, "prompt": p} for i, p in enumerate(prompts(400))]
    source = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in asked))
    first, second = (
        _score_in_subprocess(source, tmp_path / f"out{seed}.jsonl", seed, *extra)
        for seed in HASH_SEEDS
    )
    assert first.count(b"\n") == 400
    assert first == second
