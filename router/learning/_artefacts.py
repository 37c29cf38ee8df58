"""Versioned artefacts and the pointer to the one in use; a classifier that follows the pointer.

Layout of the artefact directory (`learning.artefact_dir`):

    versions/<version>/learned.json   every candidate `router learn` promoted (never changed)
    CURRENT                           the version in use, one line

A candidate is written completely (atomically, by `LearnedClassifier.save`) before `CURRENT` is
replaced (a temporary file, fsync, rename, fsync of the directory). A crash at any moment
therefore leaves `CURRENT` naming a complete artefact: the old one until the rename, the new one
after it.

`PromotedClassifier` scores with the artefact `CURRENT` names (the prior while there is none).
At most every `check_every_s` it looks at the pointer (one `stat`); when it changed, the new
artefact is loaded on a background thread and swapped in with one reference assignment, so a
running router picks up a promotion without a restart and no request waits for the load.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from router._scoring import Classifier
from router.errors import ClassifierError
from router.learning._model import LearnedClassifier, load_learned
from router.policy import Policy

log = logging.getLogger("router")
POINTER = "CURRENT"
VERSIONS = "versions"


def default_artefact_dir(policy: Policy, ledger_url: str | None = None) -> Path:
    """`learning.artefact_dir`; else `<ledger stem>-learning/` beside a SQLite ledger file (the
    policy's, or `ledger_url`); else `learning/` in the user data directory."""
    if policy.learning.artefact_dir:
        return Path(policy.learning.artefact_dir).expanduser()
    from router.ledger._engine import data_dir, resolve_url, sqlite_path  # noqa: PLC0415

    path = sqlite_path(resolve_url(ledger_url or policy.ledger.url))
    if path is not None:
        return path.with_name(f"{path.stem}-learning")
    return data_dir() / "learning"


class ArtefactDir:
    """The versions and the pointer in one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def current_version(self) -> str | None:
        try:
            text = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def path_of(self, version: str) -> Path:
        if not version or "/" in version or version.startswith("."):
            raise ClassifierError(f"{version!r} is not an artefact version")
        return self.root / VERSIONS / version

    def load(self, version: str) -> LearnedClassifier:
        return load_learned(self.path_of(version))

    def load_current(self) -> LearnedClassifier | None:
        version = self.current_version()
        return None if version is None else self.load(version)

    def save(self, model: LearnedClassifier) -> Path:
        """Write `model` under its version (a complete artefact before it can be promoted)."""
        path = self.path_of(model.version)
        model.save(path)
        return path

    def promote(self, version: str) -> None:
        """Point `CURRENT` at `version`, atomically; the artefact must already be saved."""
        self.load(version)  # refuse to point at anything that does not load
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{POINTER}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(version + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.pointer)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class PromotedClassifier:
    """Scores with the promoted artefact, following `CURRENT` (see the module docstring)."""

    def __init__(
        self,
        directory: ArtefactDir,
        prior: Classifier,
        *,
        check_every_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.prior = prior
        self._every = check_every_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._seen: Stamp = None
        self._current: Classifier = prior
        self._next_check = 0.0
        self.refresh()

    @property
    def current(self) -> Classifier:
        return self._current

    @property
    def version(self) -> str | None:
        version = getattr(self._current, "version", None)
        return version if isinstance(version, str) else None

    @property
    def uses_response(self) -> bool:
        return bool(getattr(self._current, "uses_response", False))

    def pinned(self) -> Classifier:
        """The artefact to use for one whole request (its score and its recorded version)."""
        self._maybe_check()
        return self._current

    task_aware = True

    def score(self, prompt: str, response: str | None = None, *, task: str | None = None) -> float:
        """The current artefact's score; `task` reaches it when it learned per-task offsets."""
        self._maybe_check()
        current = self._current
        if task and isinstance(current, LearnedClassifier):
            return current.score(prompt, response, task=task)
        return current.score(prompt, response)

    def score_batch(
        self,
        prompts: Sequence[str],
        responses: Sequence[str | None] | None = None,
        *,
        tasks: Sequence[str | None] | None = None,
    ) -> list[float]:
        self._maybe_check()
        current = self._current
        if tasks is not None and isinstance(current, LearnedClassifier):
            return current.score_batch(prompts, responses, tasks=tasks)
        return current.score_batch(prompts, responses)

    def refresh(self) -> bool:
        """Load the pointed-to artefact now if the pointer changed; True when one was swapped
        in. A pointer that names a broken artefact is logged and the current one kept."""
        stamp = _stamp(self.directory.pointer)
        with self._lock:
            if stamp == self._seen:
                return False
            self._seen = stamp
        try:
            loaded = self.directory.load_current()
        except ClassifierError as exc:
            log.warning("learning: promoted artefact not loaded, keeping the one in use: %s", exc)
            return False
        self._current = loaded if loaded is not None else self.prior
        log.info("learning: routing with artefact %s", self.version or "(shipped prior)")
        return True

    def _maybe_check(self) -> None:
        now = self._monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self._every
        if _stamp(self.directory.pointer) == self._seen:
            return
        with self._lock:
            if self._loading is not None and self._loading.is_alive():
                return
            self._loading = threading.Thread(
                target=self.refresh, name="router-artefact-reload", daemon=True
            )
            self._loading.start()

    def wait_for_reload(self, timeout_s: float = 10.0) -> None:
        """Wait for a background reload started by a check (tests, `router demo --learn`)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout_s)

    def __repr__(self) -> str:
        return f"PromotedClassifier({self.directory.root}, version={self.version!r})"


def promoted_classifier(policy: Policy, prior: Classifier) -> PromotedClassifier:
    """The router's default classifier with learning on: the policy's promoted artefact."""
    directory = ArtefactDir(default_artefact_dir(policy))
    return PromotedClassifier(directory, prior, check_every_s=policy.learning.reload_check_s)
