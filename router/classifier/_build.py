"""`router train`: rebuild the artefact from outcome files, validate it, write it out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.classifier import _validate
from router.classifier._artefact import DEFAULT_ARTEFACT
from router.classifier._model import Artefact, DifficultyClassifier, ModelWeights
from router.classifier._train import (
    TrainParams,
    answer_examples,
    describe,
    featurize,
    fit,
    fit_posthoc,
)
from router.errors import ClassifierError
from router.evaluation import OutcomeRow, load_outcomes

VALIDATION_FILE = "validation.json"


@dataclass(frozen=True, slots=True)
class TrainReport:
    artefact_path: Path
    validation_path: Path | None
    table: str
    size_bytes: int


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source_name(path: Path, taken: set[str]) -> str:
    name = path.name.removesuffix(".jsonl").removesuffix(".json")
    if name in taken:
        raise ClassifierError(f"two training files are named '{name}'; give each a distinct name")
    taken.add(name)
    return name


def _peer_scores(
    rows: dict[str, list[OutcomeRow]], log: Callable[[str], None]
) -> dict[str, dict[str, list[float]]]:
    from router.classifier._peers import PEER_KINDS, LiteLLMPeer  # noqa: PLC0415 - litellm is slow

    out: dict[str, dict[str, list[float]]] = {}
    for kind in PEER_KINDS:
        log(f"  scoring every file with litellm {kind} ...")
        peer = LiteLLMPeer(kind)
        out[f"litellm-{kind}"] = {
            n: peer.score_batch([r.prompt for r in rs]) for n, rs in rows.items()
        }
    return out


def train(
    data: Sequence[Path],
    out_dir: Path,
    *,
    seed: int = 0,
    validate: bool = True,
    compare_peers: bool = False,
    params: TrainParams | None = None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> TrainReport:
    """Fit on all `data` files, validate across sources and at random, write `out_dir`."""
    params = params or TrainParams()
    taken: set[str] = set()
    rows = {_source_name(p, taken): load_outcomes(p) for p in data}
    log(
        f"loaded {sum(map(len, rows.values()))} prompts from {len(rows)} files; extracting features"
    )
    feats = {n: featurize(n, rs) for n, rs in rows.items()}
    results: list[_validate.SplitResult] = []
    cascade: list[dict[str, Any]] = []
    if validate:
        peers = _peer_scores(rows, log) if compare_peers else None
        fitted: dict[str, DifficultyClassifier] = {}
        results = _validate.run_cross_source(feats, rows, params, peers, log, fitted=fitted)
        cascade = _validate.run_cascade(rows, fitted, log)
        results += _validate.run_random_split(feats, rows, params, seed=seed, log=log)
    log("fitting the final model on all files ...")
    weights = _with_posthoc(fit(list(feats.values()), params), rows, log)
    training: dict[str, Any] = {
        **describe(params),
        "seed": seed,
        "data": [
            {"file": p.name, "rows": len(rows[n]), "sha256": _sha256(p)}
            for p, n in zip(data, rows, strict=True)
        ],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sklearn_version": _sklearn_version(),
    }
    metrics = {"validation": [r.to_json() for r in results], "before_after_answer": cascade}
    out_dir.mkdir(parents=True, exist_ok=True)
    artefact_path = out_dir / DEFAULT_ARTEFACT
    artefact_path.write_text(Artefact(weights, training, metrics).dumps(), encoding="utf-8")
    validation_path = None
    if results:
        validation_path = out_dir / VALIDATION_FILE
        validation_path.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    return TrainReport(
        artefact_path,
        validation_path,
        _validate.format_table(results)
        + ("\n" + _validate.format_cascade(cascade) if results else ""),
        artefact_path.stat().st_size,
    )


def _with_posthoc(
    weights: ModelWeights, rows: dict[str, list[OutcomeRow]], log: Callable[[str], None]
) -> ModelWeights:
    """Add the after-the-answer model, fitted on every file that keeps answers (if any)."""
    clf = DifficultyClassifier(weights)
    examples = [e for n, rs in rows.items() if (e := answer_examples(n, rs, clf.logit))]
    if not examples:
        return weights
    log(f"fitting the post-hoc model on the answers in {len(examples)} files ...")
    return dataclasses.replace(weights, posthoc=fit_posthoc(examples))


def _sklearn_version() -> str:
    import sklearn  # noqa: PLC0415 - training only

    return str(sklearn.__version__)
