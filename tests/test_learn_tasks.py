"""`router learn` with tasks (issue 18): the learning store keeps each request's task (migration
0008), and `router learn` fits per-task offsets from it and scores its held-back labels with
their tasks, as `router adapt` does with a file's.

The labelled traffic is test_adapt_tasks' synthetic file: the frontier model gains on maths
prompts, and on task "alpha" on the trivia prompts too (which the text cannot show).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, bindparam, inspect, text

from router.cli import main
from router.errors import LedgerError
from router.learning import (
    ArtefactDir,
    LabelledExample,
    LearnedClassifier,
    LearningStore,
    hashed_features,
)
from router.learning._calibrate import calibrate_from_store
from router.learning._examples import FEATURES_VERSION
from router.learning._files import import_file
from router.learning._fit import fit_candidate
from router.learning._labels import MAX_TASK_CHARS, stored_task
from router.learning._promote import labelled_examples, learn, recovered, split_by_time
from router.learning._store import Batch
from router.ledger import current_revision, downgrade, upgrade
from router.ledger._types import UTCDateTime
from router.policy import Policy, Routing
from router.policy._model import Learning
from tests.learning_helpers import (
    kept,
    learning_policy,
    learning_router,
    servers_fixture,  # noqa: F401 - the `servers` fixture
)
from tests.test_adapt_tasks import TASKS, TRIVIA, _rows, _write
from tests.test_learning_store import label_row, request_row

pytest_plugins = ["tests.ledger_helpers.fixtures"]

T0 = datetime(2026, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 7, tzinfo=UTC)


# -- the store and its migration ----------------------------------------------------------------


def test_a_requests_task_round_trips_through_the_store(ledger_url: str) -> None:
    store = LearningStore(ledger_url)
    rows = [request_row("a", T0), request_row("b", T0 + timedelta(seconds=1))]
    rows[0]["task"], rows[1]["task"] = "mmlu-pro/physics", None  # None: as rows before 0008
    store.write(Batch(requests=rows, labels=[label_row("a", 1.0, T0), label_row("b", 0.0, T0)]))
    a, b = store.examples()
    store.close()
    assert (a.request_id, a.task) == ("a", "mmlu-pro/physics")
    assert (b.request_id, b.task) == ("b", "")
    examples, _ = labelled_examples([a, b])
    assert [e.task for e in examples] == ["mmlu-pro/physics", ""]


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("learning_requests")}


def _insert_at_0007(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO learning_requests (request_id, observed_at, features, "
                "features_version, local_model, answered_by) "
                "VALUES ('old', :at, '{\"0\": 1.0}', 'hashed-v1', 'qwen', 'local')"
            ).bindparams(bindparam("at", type_=UTCDateTime)),  # stored as the ledger stores it
            {"at": T0},
        )


def _tasks(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT request_id, task FROM learning_requests")).all())


def test_0008_adds_the_task_column_to_a_ledger_at_0007_and_drops_it_again(engine: Engine) -> None:
    upgrade(engine, "0007")
    _insert_at_0007(engine)
    assert "task" not in _columns(engine)
    upgrade(engine, "0008")
    assert "task" in _columns(engine) and _tasks(engine) == {"old": None}  # rows kept, no task
    with engine.begin() as conn:
        conn.execute(text("UPDATE learning_requests SET task = 'alpha'"))
    downgrade(engine, "0007")
    assert current_revision(engine) == "0007" and "task" not in _columns(engine)
    with engine.connect() as conn:  # the row survives the downgrade (SQLite copies the table)
        kept_ids = conn.execute(text("SELECT request_id FROM learning_requests")).scalars()
        assert list(kept_ids) == ["old"]
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("learning_requests")}
    assert "ix_learning_requests_observed_at" in indexes
    upgrade(engine, "0008")
    assert _tasks(engine) == {"old": None}


def test_a_store_on_a_ledger_at_0007_upgrades_sqlite_and_refuses_postgres(
    engine: Engine, empty_url: str
) -> None:
    upgrade(engine, "0007")
    _insert_at_0007(engine)
    store = LearningStore(empty_url)
    if empty_url.startswith("sqlite"):  # a SQLite ledger migrates itself, as the ledger does
        store.write(Batch(requests=[request_row("new", T0)]))
        assert current_revision(engine) == "0008" and _tasks(engine) == {"old": None, "new": None}
    else:  # PostgreSQL is migrated by `router db upgrade` only
        with pytest.raises(LedgerError, match=r"is at revision 0007.*router db upgrade"):
            store.write(Batch(requests=[request_row("new", T0)]))
    store.close()


# -- what a task may be -------------------------------------------------------------------------


def test_a_task_is_kept_only_as_text_a_request_tag_could_be() -> None:
    longest = "t" * MAX_TASK_CHARS
    assert stored_task("mmlu-pro/physics") == "mmlu-pro/physics"
    assert stored_task(longest) == longest
    for bad in (None, "", longest + "t", "a\x00b", "lone \ud800", 3):
        assert stored_task(bad) is None, repr(bad)


# -- the request path ---------------------------------------------------------------------------


class _RecordsTasks:
    """Scores every prompt 0.0 (local) and records the task each score was asked for."""

    task_aware = True

    def __init__(self) -> None:
        self.tasks: list[str | None] = []

    def score(self, prompt: str, response: str | None = None, *, task: str | None = None) -> float:
        self.tasks.append(task)
        return 0.0

    def score_batch(self, prompts: list[str], responses: Any = None) -> list[float]:
        return [self.score(p) for p in prompts]


def test_a_routed_requests_task_is_stored_as_the_classifier_was_given_it(servers, tmp_path):
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0)
    policy = policy.model_copy(update={"routing": Routing(rule="classifier", threshold=0.5)})
    classifier = _RecordsTasks()
    router = learning_router(policy, classifier=classifier)
    tagged = router.complete("What is the capital of Peru?", metadata={"task": "geo/capitals"})
    untagged = router.complete("What is the capital of Chile?", metadata={"team": "t"})
    router.close()  # drains the loop

    rows = {r["request_id"]: r for r in kept(router)}
    assert classifier.tasks == ["geo/capitals", None]
    assert rows[tagged.request_id]["task"] == "geo/capitals"
    assert rows[untagged.request_id]["task"] is None


# -- router learn -------------------------------------------------------------------------------


def _setup(tmp_path: Path, rows: list[dict[str, Any]]) -> tuple[Policy, LearningStore, ArtefactDir]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = Learning(min_labels=50, artefact_dir=str(tmp_path / "artefacts"))
    store = LearningStore(url)
    import_file(_write(tmp_path / "traffic.jsonl", rows), store, now=NOW)
    return (
        Policy(ledger={"url": url}, learning=settings),
        store,
        ArtefactDir(tmp_path / "artefacts"),
    )


def _held(policy: Policy, store: LearningStore) -> list[Any]:
    examples, _ = labelled_examples(store.examples())
    return split_by_time(examples, policy.learning.holdout_share)[1]


def _without_tasks(examples: list[Any]) -> list[Any]:
    return [replace(e, task="") for e in examples]


def test_router_learn_fits_task_offsets_and_evaluates_with_the_tasks(tmp_path: Path) -> None:
    policy, store, artefacts = _setup(tmp_path, _rows())
    assert {e.task for e in store.examples()} == set(TASKS)  # the file's tasks, stored
    result = learn(policy, store, artefacts, now=NOW)

    assert result.status == "promoted", result.to_text()
    assert result.to_json()["tasks"] == 3
    candidate = artefacts.load_current()
    assert candidate is not None and candidate.gain_model is not None
    offsets = candidate.gain_model.task_offsets
    assert set(offsets) == set(TASKS) and offsets["alpha"] > 0.3 > 0 > offsets["beta"], offsets
    assert candidate.training["tasks"] == {"alpha": 80, "beta": 80, "gamma": 80}  # train only
    trivia = TRIVIA.format("Lima")
    assert candidate.score(trivia, task="alpha") > candidate.score(trivia) + 0.05
    held = _held(policy, store)
    assert len({e.task for e in held}) == 3
    assert result.candidate_value == recovered(candidate, held)
    assert result.candidate_value > recovered(candidate, _without_tasks(held)) + 0.01


def test_the_champion_is_scored_with_the_held_back_tasks_too(tmp_path: Path) -> None:
    policy, store, artefacts = _setup(tmp_path, _rows())
    assert learn(policy, store, artefacts, now=NOW).promoted
    champion = artefacts.load_current()
    assert champion is not None and champion.tasks == TASKS
    later = _rows(seed=1)
    import_file(_write(tmp_path / "later.jsonl", later), store, now=NOW + timedelta(hours=1))

    result = learn(policy, store, artefacts, now=NOW + timedelta(hours=1))
    held = _held(policy, store)
    assert result.champion_version == champion.version
    assert result.champion_value == recovered(champion, held)
    assert result.champion_value != recovered(champion, _without_tasks(held))


def test_the_same_traffic_without_tasks_learns_no_offsets(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "task"} for r in _rows()]
    policy, store, artefacts = _setup(tmp_path, rows)
    assert {e.task for e in store.examples()} == {""}
    fitted: list[LearnedClassifier] = []

    def fit(train: list[LabelledExample], *, prior: LearnedClassifier) -> LearnedClassifier:
        fitted.append(fit_candidate(train, prior=prior))
        return fitted[-1]

    learn(policy, store, artefacts, now=NOW, fit=fit)
    (candidate,) = fitted
    assert candidate.gain_model is not None and candidate.tasks == ()
    assert "tasks" not in candidate.training


def test_tasks_given_alongside_or_carried_by_the_examples_fit_one_model() -> None:
    """One path: adapt's `tasks=` list and learn's examples' own tasks give the same artefact."""
    rows = _rows()
    plain = [_example(r, i) for i, r in enumerate(rows)]
    tasks = [r["task"] for r in rows]
    carried = [replace(e, task=t) for e, t in zip(plain, tasks, strict=True)]
    alongside = fit_candidate(plain, tasks=tasks)
    own = fit_candidate(carried)
    assert own.tasks == TASKS and own.version == alongside.version
    assert fit_candidate(carried, tasks=[""] * len(rows)).version == fit_candidate(plain).version


def _example(row: dict[str, Any], i: int) -> LabelledExample:
    gain = row["scores"]["big"] - row["scores"]["small"]
    return LabelledExample(hashed_features(row["prompt"]), gain, T0 + timedelta(seconds=i), "file")


def test_cli_learn_from_file_promotes_an_artefact_with_task_offsets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    traffic = _write(tmp_path / "traffic.jsonl", _rows())
    result = CliRunner().invoke(main, ["learn", "--ledger", url, "--from-file", str(traffic)])
    assert result.exit_code == 0, result.output
    assert "promoted:" in result.output
    assert "the candidate has per-task offsets for 3 tasks" in result.output
    learned = ArtefactDir(tmp_path / "ledger-learning").load_current()
    assert learned is not None and learned.tasks == TASKS


def test_calibrate_from_labels_scores_the_stored_traffic_with_its_tasks(tmp_path: Path) -> None:
    """`router calibrate --from-labels` must see the scores live routing gives: each stored
    request scored with its task. The share it reports is measured with the tasks."""
    policy, store, artefacts = _setup(tmp_path, _rows())
    assert learn(policy, store, artefacts, now=NOW).promoted
    model = artefacts.load_current()
    assert model is not None
    traffic = store.traffic(FEATURES_VERSION)
    assert {task for _, task in traffic} == set(TASKS)
    with_tasks = [model.score_features(f, task=t) for f, t in traffic]
    without = [model.score_features(f) for f, _ in traffic]
    assert with_tasks != without

    found = calibrate_from_store(store, model, target_share=0.3)
    assert found.share == sum(s >= found.threshold for s in with_tasks) / len(traffic)
    assert found.share != sum(s >= found.threshold for s in without) / len(traffic)


def _offsets(gains: list[float], weights: list[float], tasks: list[str]) -> dict[str, float]:
    """`_task_offsets` with the blend predicting 0 everywhere: the residuals are the gains."""
    import numpy as np  # noqa: PLC0415

    from router.learning._fit import FitParams, _Design, _task_offsets  # noqa: PLC0415

    n, residual = len(gains), np.array(gains)
    design = _Design(
        None, residual, np.array(weights), np.zeros(n), np.zeros(n), {}, [], None, None
    )  # type: ignore[arg-type]
    return _task_offsets(design, residual, tasks, FitParams(task_max_p=None))


def test_task_offsets_shrink_by_the_labels_effective_number_not_their_summed_weight() -> None:
    """The ledger's labels carry importance weights (a shadow at a 2% rate weighs 50). Shrinking
    by the summed weight let one heavy label set a task's offset unshrunk; the effective number
    `(sum w)^2 / sum w^2` sees that it is one label."""
    tasks = ["a"] * 10 + ["b"] * 10
    gains = [0.5] * 10 + [0.0] * 10
    plain = _offsets(gains, [1.0] * 20, tasks)
    assert plain["a"] == pytest.approx(4 * 0.5 * 10 / (10 + 20))  # unit weights: n / (n + 20)
    assert _offsets(gains, [50.0] * 20, tasks) == plain  # scaling every weight changes nothing
    one_heavy = _offsets([0.5] + [0.0] * 19, [50.0] + [1.0] * 19, tasks)
    effective = (50 + 9) ** 2 / (50**2 + 9)  # about 1.4 labels
    assert one_heavy["a"] == pytest.approx(4 * (25 / 59) * effective / (effective + 20), abs=1e-6)
    assert one_heavy["a"] < 0.2  # summed weight (59) would have given 4 * 25 / 79 = 1.27
