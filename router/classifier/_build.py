"""`router train`: rebuild the artefact from outcome files, validate it, write it out."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from router.classifier import _validate
from router.classifier._artefact import DEFAULT_ARTEFACT
from router.classifier._model import Artefact, DifficultyClassifier, ModelWeights
from router.classifier._train import (
    SourceFeatures,
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
_DEMO_WORKLOAD = ("data", "demo", "workload.jsonl.gz")


def demo_ids() -> frozenset[str]:
    """Ids of the prompts `router demo` replays: kept out of training, so the demo's figures are
    out-of-sample for the shipped classifier."""
    resource = resources.files("router").joinpath(*_DEMO_WORKLOAD)
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return frozenset(str(json.loads(line)["id"]) for line in text if line.strip())


def training_rows(rows: dict[str, list[OutcomeRow]]) -> dict[str, list[OutcomeRow]]:
    """Every file's rows minus the demo's prompts and the prompts that every model fails.

    A prompt no model of the file solves says nothing about which model to use, and in this data
    it is mostly the benchmark's scoring: llmrouter-train's trivia_qa is failed by all nine
    models (70B included) on 73% of its questions, exact match against open answers. Those rows
    taught the first prior that a short factual question is hard ("What is the capital of
    France?" 0.668)."""
    held = demo_ids()
    return {
        n: [r for r in rs if r.id not in held and max(r.scores.values()) > 0.0]
        for n, rs in rows.items()
    }


def training_features(
    rows: dict[str, list[OutcomeRow]], params: TrainParams
) -> dict[str, SourceFeatures]:
    """Features and targets of each file's training rows (demo prompts excluded)."""
    return {n: featurize(n, rs, params.target) for n, rs in training_rows(rows).items()}


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
    loaded = {_source_name(p, taken): load_outcomes(p) for p in data}
    rows = training_rows(loaded)
    held = demo_ids()
    excluded = sum(r.id in held for rs in loaded.values() for r in rs)
    unsolved = sum(map(len, loaded.values())) - excluded - sum(map(len, rows.values()))
    log(
        f"loaded {sum(map(len, rows.values()))} prompts from {len(rows)} files ({excluded} demo "
        f"prompts and {unsolved} prompts no model solves left out); extracting features"
    )
    feats = training_features(rows, params)
    results: list[_validate.SplitResult] = []
    cascade: list[dict[str, Any]] = []
    if validate:
        # Held-out files are judged on all their rows (the demo's aside): rows no model solves
        # leave training only.
        judged = {n: [r for r in rs if r.id not in held] for n, rs in loaded.items()}
        peers = _peer_scores(judged, log) if compare_peers else None
        fitted: dict[str, DifficultyClassifier] = {}
        results = _validate.run_cross_source(feats, judged, params, peers, log, fitted=fitted)
        cascade = _validate.run_cascade(judged, fitted, log)
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
        "excluded": f"{excluded} prompts of router/data/demo/workload.jsonl.gz (by id)",
        "unsolved_excluded": f"{unsolved} prompts that every model in the file fails",
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
