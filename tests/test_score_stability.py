"""The shipped classifier's scores do not move when the scoring code is made faster.

`tests/data/score_golden.json` holds the scores the shipped artefact gave these 400 generated
prompts before the decision path was optimised (math.fsum, unoptimised feature extraction).
Any later change to `_features.py` or `_model.py` must keep them within 1e-9: a change that
alters routing needs a new FEATURES_VERSION and a retrain, not a silent drift.
Regenerate only together with such a version bump or a deliberate retrain of the shipped
artefact: `python -m tests.test_score_stability`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from router.classifier import load_classifier

GOLDEN = Path(__file__).parent / "data" / "score_golden.json"
TOLERANCE = 1e-9
_VOCAB = (
    "the a of to and is what why how explain calculate solve prove write story poem python "
    "function class def return import SQL SELECT integral derivative probability matrix step "
    "first then finally must should exactly json bullet paragraph who when capital born act "
    "pretend Question: Answer: Q: A: http://example.com https://x.io $x^2$ \\frac{a}{b} "
    "日本語 東京 はい カタカナ 한국어 中文 café naïve über 3 + 4 = 7 12*3 100/4 2^10 (a) (b) "
    "A) B) C) D) ? ! . , ; : - ( ) [ ] { } \" ' e.g. i.e. email@example.com 4111-1111-1111-1111"
)
_WORDS = _VOCAB.split(" ")
_SEPS = (" ", " ", " ", " ", "\n", "\n    ", "\t", "  ", "\n\n", "")


def prompts(n: int = 400, seed: int = 10) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice((1, 3, 8, 20, 60, 150, 400, 900))
        parts = [rng.choice(_WORDS) + rng.choice(_SEPS) for _ in range(size)]
        text = "".join(parts).strip() or "hello"
        out.append(text.upper() if i % 37 == 0 else text)
    return out


def scores() -> list[float]:
    return [load_classifier().score(p) for p in prompts()]


def test_scores_match_the_golden_file() -> None:
    golden = json.loads(GOLDEN.read_text())
    now = scores()
    assert len(now) == len(golden) == 400
    worst = max(abs(a - b) for a, b in zip(now, golden, strict=True))
    assert worst <= TOLERANCE, worst


def test_the_golden_prompts_cover_the_feature_paths() -> None:
    texts = prompts()
    assert any(not t.isascii() for t in texts) and any(t.isascii() for t in texts)
    assert any(len(t) > 1250 for t in texts)  # the head-and-tail window
    assert len({round(s, 3) for s in json.loads(GOLDEN.read_text())}) > 100  # not all alike


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(scores(), indent=0) + "\n")
