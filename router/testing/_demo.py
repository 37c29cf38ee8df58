"""The demo workload shipped with the package, and a responder that replays its answers."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from router.testing._model import ChatRequest, Reply

Side = Literal["local", "frontier"]
_WORKLOAD = ("data", "demo", "workload.jsonl.gz")


@dataclass(frozen=True, slots=True)
class DemoPrompt:
    """One prompt of the demo workload, with what a small and a large model answered.

    Answers are None where the source kept none. Scores are in [0, 1] (see NOTICE.md for what
    they measure per source); `*_model_recorded` names the models that produced them.
    """

    id: str
    source: str
    task: str
    prompt: str
    local_answer: str | None
    frontier_answer: str | None
    local_score: float
    frontier_score: float
    local_model_recorded: str
    frontier_model_recorded: str


def _workload_file() -> Traversable:
    try:
        root = resources.files("router")
    except (NotADirectoryError, TypeError):  # `router` as a namespace package (editable install)
        root = Path(__file__).resolve().parents[1]
    return root.joinpath(*_WORKLOAD)


def load_demo_workload() -> list[DemoPrompt]:
    """The ~300 demo prompts, in their shipped order."""
    with _workload_file().open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return [DemoPrompt(**json.loads(line)) for line in f if line.strip()]


def prompt_key(text: str) -> str:
    """Hash of a prompt with surrounding whitespace ignored (how replay matches requests)."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


class ReplayResponder:
    """Answers each request with the workload's recorded answer for its last user message.

    `side="local"` replays the small model's answers, `"frontier"` the large model's. Unknown
    prompts, and prompts whose source kept no answer, get a deterministic generic answer.
    """

    def __init__(self, workload: Iterable[DemoPrompt], side: Side = "local") -> None:
        if side not in ("local", "frontier"):
            raise ValueError(f"side must be 'local' or 'frontier', not {side!r}")
        self.side = side
        self._by_key = {prompt_key(p.prompt): p for p in workload}

    def find(self, text: str) -> DemoPrompt | None:
        """The workload prompt matching `text`, or None."""
        return self._by_key.get(prompt_key(text))

    def __call__(self, request: ChatRequest) -> Reply:
        found = self.find(request.last_user_message)
        answer = None
        if found is not None:
            answer = found.local_answer if self.side == "local" else found.frontier_answer
        if answer is None:
            digest = prompt_key(request.last_user_message)[:8]
            answer = f"No recorded {self.side} answer for this prompt ({digest})."
        return Reply(text=answer)
