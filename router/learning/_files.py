"""Labelled files: rows in the shared-data schema as labels (`router learn --from-file`).

The rows are read by `router adapt`'s reader (`read_traffic`: every row needs `prompt`,
`scores` with its `local_model` and `frontier_model`, and those two fields; unusable rows are
skipped and counted, see `router.learning._traffic`), so a file means the same to both
commands: each row's gain is `scores[frontier] - scores[local]`, pooled with the file's other
models (`pooled_gains`). Rows are stored like routed requests: their hashed features (the
text too only under content capture), time-stamped in file order from the moment of import,
so the file's last rows are the most recent traffic. A row's `task` is kept as a request's
task tag is (`stored_task`), so `router learn` fits the per-task offsets `router adapt` would.
Importing a file again changes nothing (ids are derived from the file's content and each row's
position).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from router.learning._adapt import TrafficFile, read_traffic
from router.learning._examples import FEATURES_VERSION
from router.learning._judges import GainLabel
from router.learning._labels import Row, label_row, stored_task
from router.learning._store import Batch, LearningStore

_BATCH = 2000


@dataclass(frozen=True, slots=True)
class FileImport:
    """What an import stored: rows and the pair(s) they label."""

    path: Path
    rows: int
    pairs: frozenset[tuple[str, str]]
    skipped: int = 0

    def to_text(self) -> str:
        pairs = ", ".join(f"{lo} -> {fr}" for lo, fr in sorted(self.pairs))
        skipped = f"; {self.skipped} unusable rows skipped" if self.skipped else ""
        return f"{self.path.name}: {self.rows} labels ({pairs}){skipped}"


def import_file(
    path: Path, store: LearningStore, *, now: datetime, keep_text: bool = False
) -> FileImport:
    """Store every row of `path` with its gain label, in batches."""
    traffic = read_traffic(path, keep_text=keep_text)
    tag = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    batch = Batch()
    for index, example in enumerate(traffic.examples):
        request_id, at = f"file:{tag}:{index}", now + timedelta(microseconds=index)
        batch.requests.append(_request_row(traffic, index, request_id, at))
        gain = max(-1.0, min(1.0, example.gain))
        batch.labels.append(label_row(request_id, "file", GainLabel(gain, "recorded"), at))
        if len(batch.requests) >= _BATCH:
            store.write(batch)
            batch = Batch()
    store.write(batch)
    skipped = sum(s["rows"] for s in traffic.input["skipped"].values())
    return FileImport(path, len(traffic.examples), traffic.pairs, skipped)


def _request_row(traffic: TrafficFile, index: int, request_id: str, at: datetime) -> Row:
    """Row `index` of the file as a stored request (its text only when the file kept it)."""
    features = traffic.examples[index].features
    return {
        "request_id": request_id,
        "observed_at": at,
        "features": {str(k): v for k, v in features.items()},
        "features_version": FEATURES_VERSION,
        "prompt": traffic.texts[index] if traffic.texts else None,
        "local_model": "",
        "frontier_model": None,
        "answered_by": "file",
        "artefact_version": None,
        "decision_score": None,
        "task": stored_task(traffic.tasks[index]),
    }
