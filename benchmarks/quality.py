"""6. Routing quality on the shared data's cross-source splits, next to litellm and random/oracle.

Cross-source splits are `router.classifier._validate.cross_source_splits`: train on some files,
test on a file the model never saw. Refitting them takes about 3.5 CPU-minutes, so:

- default and `--quick`: the cross-source results `router train --compare-peers` recorded in the
  shipped artefact (its `metrics.validation`, same splits, same peers), so the figures follow the
  artefact that ships;
- `--full`: refits every split live with the shipped artefact's recorded parameters and scores
  the litellm peers on the held-out prompts, exactly as `router train` validates.

The default run also evaluates the shipped artefact itself on each file next to the live peers;
it was trained on those files, so those rows are labelled in-sample. Random and oracle lines
come from `router.evaluation` on each file's default pair.

Every mode ends with the before/after-the-answer (cascade) rows `router train` recorded in the
artefact (`metrics.before_after_answer`, leave-one-source-out): the cascade's APGR next to the
prompt-only APGR on the same rows, default pair and multi-pair.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for another's imports

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._common import Section, Settings

PEERS = ("litellm-heuristic", "litellm-heuristic_v2")


def _load(data: Path) -> dict[str, Any]:
    from router.evaluation import DataFormatError, load_outcomes

    rows = {}
    for path in sorted(data.glob("*.jsonl")):
        try:
            rows[path.name.removesuffix(".jsonl")] = load_outcomes(path)
        except DataFormatError:
            continue  # not an outcome file
    return rows


def _peer_scores(rows: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, list[float]]]:
    from router.classifier._peers import LiteLLMPeer

    out: dict[str, dict[str, list[float]]] = {}
    for kind in ("heuristic", "heuristic_v2"):
        peer = LiteLLMPeer(kind)
        out[f"litellm-{kind}"] = {
            n: peer.score_batch([r.prompt for r in rs]) for n, rs in rows.items()
        }
    return out


def _shipped_params() -> Any:
    from router.classifier._artefact import default_artefact_text
    from router.classifier._train import TrainParams

    recorded = json.loads(default_artefact_text()[0])["training"].get("params", {})
    return TrainParams(**recorded)


def _cross_source(rows: dict[str, Any], peers: dict[str, Any]) -> list[dict[str, Any]]:
    from router.classifier import _validate
    from router.classifier._train import featurize

    feats = {n: featurize(n, rs) for n, rs in rows.items()}
    results = _validate.run_cross_source(feats, rows, _shipped_params(), peers)
    return [r.to_json() for r in results]


def _recorded() -> list[dict[str, Any]]:
    from router.classifier._artefact import default_artefact_text

    validation = json.loads(default_artefact_text()[0]).get("metrics", {}).get("validation", [])
    return [dict(v) for v in validation if not str(v.get("split", "")).startswith("random")]


def _recorded_cascade() -> list[dict[str, Any]]:
    from router.classifier._artefact import default_artefact_text

    cascade = json.loads(default_artefact_text()[0]).get("metrics", {}).get("before_after_answer")
    return [dict(c) for c in cascade or []]


def _in_sample(rows: dict[str, Any], peers: dict[str, Any]) -> list[dict[str, Any]]:
    from router.classifier import _validate, load_classifier

    clf = load_classifier()
    out = []
    for name, rs in rows.items():
        scores = {"ours": clf.score_batch([r.prompt for r in rs])}
        scores.update((p, s[name]) for p, s in peers.items())
        default, multi = _validate._evaluate(rs, scores)
        out.append(
            {
                "split": f"in-sample {name}",
                "test": name,
                "n": len(rs),
                "default_pair": default,
                "multi_pair": multi,
            }
        )
    return out


def _oracle(rows: Sequence[Any]) -> dict[str, float]:
    from router.evaluation import apgr, cost_saved, oracle_curve, pick_pair

    curve = oracle_curve(pick_pair(rows))
    return {"apgr": round(apgr(curve), 4), "cost_saved_95": round(cost_saved(curve), 4)}


def run(settings: Settings) -> Section:
    section = Section("quality")
    rows = _load(settings.data)
    if settings.full:
        splits = _cross_source(rows, _peer_scores(rows))
        mode = "cross-source, refitted live"
    else:
        splits = _recorded()
        mode = "cross-source, recorded in the shipped artefact"
        for split in splits:
            split["split"] = f"{split['split']} (recorded)"
        if not settings.quick:
            splits += _in_sample(rows, _peer_scores(rows))
            mode += "; plus in-sample on each file"
    splits = [s for s in splits if s["test"] in rows]
    for split in splits:
        split["default_pair"]["oracle"] = _oracle(rows[split["test"]])
    section.details = {"mode": mode, "splits": splits}
    for split in splits:
        _row(section, split)
    cascade = [c for c in _recorded_cascade() if c["test"] in rows]
    section.details["before_after_answer"] = cascade
    for result in cascade:
        _cascade_row(section, result)
    return section


def _saved(cell: Mapping[str, Any]) -> str:
    return _fmt({"apgr": cell.get("apgr"), "cost_saved_95": cell.get("cost_saved_at_95")})


def _cascade_row(section: Section, result: Mapping[str, Any]) -> None:
    before, after = result["before"], result["after"]
    note = (
        f"APGR/saved@95 before -> after the answer: default pair {_saved(before)} -> "
        f"{_saved(after)}; multi-pair {_saved(before['multi_pair'])} -> "
        f"{_saved(after['multi_pair'])} ({after['multi_pair'].get('pairs', '?')} pairs)"
    )
    section.add(
        f"cascade leave-out {result['test']} (recorded) (n={after['n']}): APGR after the answer",
        after["apgr"],
        alternative=before["apgr"],
        alt_name="prompt-only",
        note=note,
    )


def _fmt(cell: Mapping[str, Any] | None) -> str:
    if not cell or cell.get("apgr") is None:
        return "n/a"
    saved = cell.get("cost_saved_95")
    return f"{cell['apgr']:.3f}/{'n/a' if saved is None else f'{saved:.0%}'}"


def _row(section: Section, split: Mapping[str, Any]) -> None:
    default, multi = split["default_pair"], split["multi_pair"]
    best = max(PEERS, key=lambda p: default.get(p, {}).get("apgr") or 0.0)
    others = "; ".join(
        f"{name.removeprefix('litellm-')} {_fmt(default.get(name))}"
        for name in (*PEERS, "random", "oracle")
    )
    multi_text = ", ".join(
        f"{name.removeprefix('litellm-')} {_fmt(multi.get(name))}" for name in ("ours", *PEERS)
    )
    ours = default["ours"]["apgr"]
    alt = default.get(best, {}).get("apgr")
    section.add(
        f"{split['split']} (n={split['n']}): APGR",
        ours,
        alternative=alt,
        alt_name=best,
        note=f"APGR/saved@95 ours {_fmt(default['ours'])}; {others}; multi-pair {multi_text}",
    )
