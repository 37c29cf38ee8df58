"""Feedback (Python and CLI), idempotent per request and source; purge; labelled files."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.errors import InvalidRequestError
from router.learning import LearningStore
from router.learning._files import import_file
from router.learning._promote import labelled_examples
from router.learning._store import Batch
from router.policy import Privacy
from tests.learning_helpers import (
    kept,
    labels,
    learning_attempts,
    learning_policy,
    learning_router,
    servers_fixture,  # noqa: F401 - the `servers` fixture
)


@pytest.fixture
def routed(servers, tmp_path):
    """A router (learning on, nothing shadowed) that answered one request locally."""
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.0))
    result = router.complete("What is 2 + 2?")
    yield router, result.request_id
    router.close()


def test_feedback_is_a_label_and_repeating_it_changes_nothing(routed):
    router, request_id = routed
    first = router.feedback(request_id, good=False)
    again = router.feedback(request_id, good=False)

    assert (first.outcome, again.outcome) == ("recorded", "unchanged")
    assert first.used_for_training and first.gain == 1.0  # a bad local answer: full gain
    (label,) = labels(router)
    assert (label["source"], label["judge"], label["gain"], label["weight"]) == (
        "feedback",
        "feedback",
        1.0,
        1.0,
    )


def test_corrected_feedback_replaces_the_earlier_one(routed):
    router, request_id = routed
    router.feedback(request_id, good=False)
    corrected = router.feedback(request_id, score=0.75)
    assert corrected.outcome == "updated"
    (label,) = labels(router)
    assert (label["gain"], label["feedback_score"]) == (0.25, 0.75)


def test_async_feedback_right_after_the_answer_finds_the_request(servers, tmp_path):
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.0))

    async def main() -> str:
        result = await router.acomplete("Say hi")
        receipt = await router.afeedback(result.request_id, good=True)  # no wait in between
        await router.aclose()
        return receipt.reason

    assert asyncio.run(main()) == "the local model answered: trains the model"
    router.close()


def test_feedback_on_a_frontier_answer_is_kept_but_not_trained_on(servers, tmp_path):
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.0))
    result = router.complete("Explain step by step why the sky is blue. " * 8)  # long: frontier
    receipt = router.feedback(result.request_id, good=True)
    router.close()
    assert result.tier == "frontier"
    assert not receipt.used_for_training
    assert labels(router)[0]["weight"] == 0.0


def test_feedback_given_before_the_request_was_kept_still_trains(tmp_path):
    """Another process may record feedback before this one wrote the request's learning row:
    the label is read against the request when training."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = LearningStore(url)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    store.write(Batch(labels=[_feedback_label("r1", 0.0, now)]))
    store.write(Batch(requests=[_request("r1", now)]))
    examples, _ = labelled_examples(store.examples())
    assert [(e.source, e.gain, e.weight) for e in examples] == [("feedback", 1.0, 1.0)]


def test_feedback_on_an_unknown_request_says_so(routed):
    router, _ = routed
    with pytest.raises(InvalidRequestError, match="no request 'nope' in the ledger"):
        router.feedback("nope", good=True)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"good": True, "score": 1.0}, {"score": 1.5}, {"score": True}, {"good": "yes"}],
)
def test_feedback_arguments_are_checked(routed, kwargs):
    router, request_id = routed
    with pytest.raises(InvalidRequestError):
        router.feedback(request_id, **kwargs)


def test_a_note_is_content_stored_only_under_capture(servers, tmp_path):
    for capture in (False, True):
        policy = learning_policy(servers, tmp_path / str(capture), shadow_rate=0.0)
        policy = policy.model_copy(update={"privacy": Privacy(capture_content=capture)})
        router = learning_router(policy)
        result = router.complete("Say hi")
        receipt = router.feedback(result.request_id, good=False, note="wrong greeting")
        router.close()
        assert receipt.note_stored is capture
        assert labels(router)[0]["note"] == ("wrong greeting" if capture else None)
        assert kept(router)[0]["prompt"] == ("Say hi" if capture else None)


def test_cli_feedback_is_idempotent_and_checks_its_arguments(routed):
    router, request_id = routed
    assert router.learning is not None
    router._loop.run(router.learning.flush())  # the request's learning row is written
    url = router.policy.ledger.url
    runner = CliRunner()
    first = runner.invoke(main, ["feedback", request_id, "--bad", "--ledger", url])
    again = runner.invoke(main, ["feedback", request_id, "--bad", "--ledger", url])
    assert first.exit_code == 0 and first.output.startswith("recorded:")
    assert again.exit_code == 0 and again.output.startswith("unchanged:")
    assert len(labels(router)) == 1
    neither = runner.invoke(main, ["feedback", request_id, "--ledger", url])
    assert neither.exit_code == 2 and "give one of --good, --bad or --score" in neither.output
    unknown = runner.invoke(main, ["feedback", "missing-id", "--good", "--ledger", url])
    assert unknown.exit_code == 1 and "no request 'missing-id'" in unknown.output


def _request(request_id: str, at: datetime) -> dict:
    return {
        "request_id": request_id,
        "observed_at": at,
        "features": {"0": 1.0},
        "features_version": "hashed-v1",
        "prompt": None,
        "local_model": "l",
        "frontier_model": "f",
        "answered_by": "local",
        "artefact_version": None,
        "decision_score": None,
    }


def _feedback_label(request_id: str, score: float, at: datetime) -> dict:
    return {
        "request_id": request_id,
        "source": "feedback",
        "gain": 0.0,
        "weight": 0.0,  # as stored when the request was not (yet) kept
        "judge": "feedback",
        "labelled_at": at,
        "feedback_score": score,
        "note": None,
    }


def _store_with_two_days(url: str) -> LearningStore:
    store = LearningStore(url)
    old, new = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    batch = Batch()
    for name, at in (("old", old), ("new", new)):
        batch.requests.append(
            {
                "request_id": name,
                "observed_at": at,
                "features": {"0": 1.0},
                "features_version": "hashed-v1",
                "prompt": None,
                "local_model": "l",
                "frontier_model": "f",
                "answered_by": "local",
                "artefact_version": None,
                "decision_score": None,
            }
        )
        batch.labels.append(
            {
                "request_id": name,
                "source": "shadow",
                "gain": 1.0,
                "weight": 1.0,
                "judge": "exact_answer",
                "labelled_at": at + timedelta(days=40),  # labelled later than it was seen
                "feedback_score": None,
                "note": None,
            }
        )
    store.write(batch)
    return store


def test_purge_before_a_date_deletes_old_requests_with_all_their_labels(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = _store_with_two_days(url)
    done = store.purge(datetime(2026, 2, 1, tzinfo=UTC))
    assert (done.requests, done.labels) == (1, 1)  # its label was given after the cutoff
    assert [r["request_id"] for r in kept(url)] == ["new"]
    assert [r["request_id"] for r in labels(url)] == ["new"]


def test_cli_purge_all_deletes_everything_but_keeps_learning_spend(servers, tmp_path):
    router = learning_router(learning_policy(servers, tmp_path), judges=[lambda *_: 0.5])
    router.complete("Say hi")
    router.close()
    url = router.policy.ledger.url
    assert kept(url) and learning_attempts(url)

    runner = CliRunner()
    refused = runner.invoke(main, ["learn", "purge", "--ledger", url])
    assert refused.exit_code == 2
    done = runner.invoke(main, ["learn", "purge", "--all", "--ledger", url])
    assert done.exit_code == 0, done.output
    assert "deleted 1 stored request(s) and 1 label(s)" in done.output
    assert kept(url) == [] and labels(url) == []
    assert len(learning_attempts(url)) == 1  # the shadow's cost stays


def test_cli_purge_before_a_date(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _store_with_two_days(url)
    result = CliRunner().invoke(main, ["learn", "purge", "--before", "2026-02-01", "--ledger", url])
    assert result.exit_code == 0, result.output
    assert [r["request_id"] for r in kept(url)] == ["new"]


def _outcome_file(path: Path, rows: int = 40) -> Path:
    lines = []
    for i in range(rows):
        hard = i % 2 == 0
        lines.append(
            json.dumps(
                {
                    "id": f"q{i}",
                    "prompt": ("Prove the theorem " if hard else "Say hello ") + str(i),
                    "scores": {"small": 0.0 if hard else 1.0, "big": 1.0},
                    "local_model": "small",
                    "frontier_model": "big",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_bad_labelled_file_names_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "prompt": "x", "scores": {"a": 1}, "local_model": "a"}\n')
    result = CliRunner().invoke(
        main, ["learn", "--from-file", str(path), "--ledger", f"sqlite:///{tmp_path / 'l.db'}"]
    )
    assert result.exit_code == 1 and "bad.jsonl:1" in result.output


def test_a_labelled_file_becomes_file_labels_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store, path = LearningStore(url), _outcome_file(tmp_path / "traffic.jsonl")
    now = datetime(2026, 5, 1, tzinfo=UTC)
    first = import_file(path, store, now=now)
    import_file(path, store, now=now + timedelta(days=1))  # again: nothing new
    assert (first.rows, first.pairs) == (40, frozenset({("small", "big")}))
    rows = labels(url)
    assert len(rows) == 40 and {r["source"] for r in rows} == {"file"}
    assert sorted({r["gain"] for r in rows}) == [0.0, 1.0]
    order = sorted(kept(url), key=lambda r: r["observed_at"])
    assert order[0]["request_id"].endswith(":0") and order[-1]["request_id"].endswith(":39")
    assert all(r["prompt"] is None for r in order)
