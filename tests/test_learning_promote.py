"""`router learn`: champion/challenger on the most recent labels, atomic promotion, crash safety,
and a running router following the promoted artefact (with its version on every ledger row)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from router import Router
from router.classifier import load_classifier
from router.cli import main
from router.learning import ArtefactDir, LearningStore, PromotedClassifier, hashed_features
from router.learning._calibrate import threshold_for_share
from router.learning._fit import fit_candidate
from router.learning._promote import labelled_examples, learn, split_by_time
from router.learning._store import Batch
from router.ledger import open_ledger
from router.ledger._schema import RequestRow
from router.policy import Policy, Routing, load_policy
from router.policy._model import Learning
from tests.learning_helpers import (
    learning_policy,
    servers_fixture,  # noqa: F401 - the `servers` fixture
    table,
)

START = datetime(2026, 3, 1, tzinfo=UTC)


def labelled_traffic(
    url: str,
    n: int = 240,
    start: datetime = START,
    tool: str = "zorblax",
    flip: bool = False,
    heavy_every: int = 0,
) -> None:
    """Traffic whose gain an in-domain model can learn and the prior gets backwards: terse
    requests about the deployment's internal tool 'zorblax' need the frontier model, while
    trivia (which the shipped prior scores higher) the local model handles. With `heavy_every`,
    every such label weighs 50 and the others 2: a few heavy labels among many light ones."""
    batch = Batch()
    for i in range(n):
        about_tool = i % 3 == 0
        hard = about_tool != flip
        text = f"hi {tool} item {i}" if about_tool else f"What is the capital of France? item {i}"
        request_id = f"{tool}-{i:05d}"
        at = start + timedelta(minutes=i)
        batch.requests.append(
            {
                "request_id": request_id,
                "observed_at": at,
                "features": {str(k): v for k, v in hashed_features(text).items()},
                "features_version": "hashed-v1",
                "prompt": None,
                "local_model": "local",
                "frontier_model": "frontier",
                "answered_by": "local",
                "artefact_version": None,
                "decision_score": None,
            }
        )
        batch.labels.append(
            {
                "request_id": request_id,
                "source": "shadow",
                "gain": 1.0 if hard else 0.0,
                "weight": (50.0 if i % heavy_every == 0 else 2.0) if heavy_every else 1.0,
                "judge": "exact_answer",
                "labelled_at": at,
                "feedback_score": None,
                "note": None,
            }
        )
    LearningStore(url).write(batch)


def setup(tmp_path: Path, **learning) -> tuple[Policy, LearningStore, ArtefactDir]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = {"min_labels": 50, "artefact_dir": str(tmp_path / "artefacts"), **learning}
    policy = Policy(ledger={"url": url}, learning=Learning(**settings))
    labelled_traffic(url)
    return policy, LearningStore(url), ArtefactDir(tmp_path / "artefacts")


def now() -> datetime:
    return START + timedelta(days=10)


def test_learn_says_what_importance_weighted_labels_are_worth(tmp_path):
    """The in-domain weight follows the labels' effective number; `router learn` says so when
    importance weights make it smaller than the count, and records it."""
    policy, store, artefacts = setup(tmp_path)
    plain = learn(policy, store, artefacts, now=now())
    assert plain.effective_labels == plain.train == 192
    assert "equally weighted" not in plain.to_text()
    weighted_url = f"sqlite:///{tmp_path / 'weighted.db'}"
    labelled_traffic(weighted_url, heavy_every=10)
    result = learn(policy, LearningStore(weighted_url), ArtefactDir(tmp_path / "w"), now=now())
    weights = [50.0 if i % 10 == 0 else 2.0 for i in range(192)]  # the older 80% train
    expected = sum(weights) ** 2 / sum(w * w for w in weights)  # about 36 of 192
    assert result.effective_labels == pytest.approx(expected, abs=1e-3)
    assert f"worth about {expected:.0f} equally weighted ones" in result.to_text()
    assert result.to_json()["effective_labels"] == round(expected, 1)


def test_a_better_candidate_is_promoted_and_recorded(tmp_path):
    policy, store, artefacts = setup(tmp_path)
    result = learn(policy, store, artefacts, now=now())

    assert result.status == "promoted", result.to_text()
    assert (result.labels, result.holdout) == (240, 48)  # the most recent 20%
    assert result.candidate_value > result.champion_value
    assert artefacts.current_version() == result.candidate_version
    (row,) = store.artefacts()
    assert (row["status"], row["version"]) == ("promoted", result.candidate_version)


def test_a_candidate_worse_than_the_champion_is_not_promoted(tmp_path):
    policy, store, artefacts = setup(tmp_path)
    champion = learn(policy, store, artefacts, now=now()).candidate_version

    def inverted(train, *, prior):  # learns the opposite of what the labels say
        return fit_candidate([replace(e, gain=-e.gain) for e in train], prior=prior)

    result = learn(policy, store, artefacts, now=now(), fit=inverted)
    assert result.status == "rejected"
    assert result.candidate_value < result.champion_value
    assert result.champion_version == champion
    assert artefacts.current_version() == champion
    assert [r["status"] for r in store.artefacts()] == ["promoted", "rejected"]


def test_the_same_candidate_as_the_champion_is_not_promoted(tmp_path):
    policy, store, artefacts = setup(tmp_path, min_improvement=0.01)
    learn(policy, store, artefacts, now=now())
    again = learn(policy, store, artefacts, now=now())
    assert again.status == "rejected"


def test_too_few_labels_keep_the_artefact_in_use(tmp_path):
    policy, store, artefacts = setup(tmp_path, min_labels=1000)
    result = learn(policy, store, artefacts, now=now())
    assert result.status == "too few labels" and artefacts.current_version() is None


def test_the_held_back_slice_is_the_most_recent_never_shuffled(tmp_path):
    _, store, _ = setup(tmp_path)
    examples, _ = labelled_examples(store.examples())
    train, held = split_by_time(examples, 0.2)
    assert max(e.observed_at for e in train) < min(e.observed_at for e in held)
    assert len(held) == 48


def test_retention_purges_before_training(tmp_path):
    policy, store, artefacts = setup(tmp_path, retention_days=1, min_labels=10)
    result = learn(policy, store, artefacts, now=START + timedelta(days=1, minutes=120))
    assert result.labels == 240 - 120  # the first 120 minutes of traffic are past retention


def test_a_crash_mid_training_leaves_the_champion_in_use(tmp_path):
    policy, store, artefacts = setup(tmp_path)
    champion = learn(policy, store, artefacts, now=now()).candidate_version

    def crashing(train, *, prior):
        raise MemoryError("killed mid-fit")

    with pytest.raises(MemoryError):
        learn(policy, store, artefacts, now=now(), fit=crashing)
    assert artefacts.current_version() == champion
    assert artefacts.load_current().version == champion


def test_a_crash_between_saving_and_switching_leaves_the_champion_in_use(tmp_path, monkeypatch):
    policy, store, artefacts = setup(tmp_path)
    champion = learn(policy, store, artefacts, now=now()).candidate_version

    # The traffic changed (now trivia needs the frontier and 'glimmer' requests do not): a
    # candidate trained on it is better, and is saved; the power fails before the switch.
    later = START + timedelta(days=1)
    labelled_traffic(policy.ledger.url, n=480, start=later, tool="glimmer", flip=True)

    def power_cut(self, version):
        raise OSError("power cut before the rename")

    monkeypatch.setattr(ArtefactDir, "promote", power_cut)
    with pytest.raises(OSError, match="power cut"):
        learn(policy, store, artefacts, now=now())
    assert artefacts.current_version() == champion and artefacts.load_current() is not None


@pytest.mark.slow
def test_a_killed_learn_process_leaves_the_champion_in_use(tmp_path):
    """SIGKILL a real `router learn` while it trains on 5,000 labels."""
    policy, store, artefacts = setup(tmp_path)
    champion = learn(policy, store, artefacts, now=now()).candidate_version
    recent = datetime.now(UTC) - timedelta(days=1)  # within the CLI policy's retention
    labelled_traffic(policy.ledger.url, n=5000, start=recent, tool="glimmer", flip=True)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        f"name: t\nledger: {{url: '{policy.ledger.url}'}}\n"
        f"learning: {{artefact_dir: '{artefacts.root}', min_labels: 50}}\n"
    )
    code = "from router.cli import main; main()"
    args = [sys.executable, "-c", code, "learn", "--policy", str(policy_file)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    time.sleep(3.0)  # usually mid-fit; on a quiet machine `learn` may already have promoted
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    if "promoted:" not in out:  # killed before promoting: the champion stays, intact
        assert artefacts.current_version() == champion
        assert artefacts.load_current().version == champion
    else:  # killed after: the new artefact is in use and whole, never a half-written one
        assert artefacts.current_version() != champion
        assert artefacts.load_current().version == artefacts.current_version()


def test_cli_learn_promotes_and_status_reports(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    labelled_traffic(url, start=datetime.now(UTC) - timedelta(days=1))  # within retention
    artefacts = ArtefactDir(tmp_path / "artefacts")
    result = CliRunner().invoke(main, ["learn", "--ledger", url])
    assert result.exit_code == 0, result.output
    # The CLI uses the shipped policy's learning settings: min_labels 200 <= 240 labels.
    assert result.output.startswith("promoted:")
    status = CliRunner().invoke(main, ["learn", "status", "--ledger", url])
    assert "labels: shadow 240" in status.output
    assert "verified labels: none from this policy's checks (structural" in status.output
    assert "artefact in use:" in status.output and "shipped prior" not in status.output
    assert (tmp_path / "ledger-learning" / "CURRENT").is_file()
    assert artefacts.current_version() is None  # that policy's own directory was not used


def _classifier_policy(servers, tmp_path, **learning) -> Policy:
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0, reload_check_s=0.01, **learning)
    return policy.model_copy(update={"routing": Routing(rule="classifier", threshold=0.5)})


def test_a_running_router_picks_up_a_promotion_and_records_its_version(servers, tmp_path):
    policy = _classifier_policy(servers, tmp_path)
    router = Router(policy, ledger=open_ledger(policy.ledger.url))
    classifier = router._state.pipeline.seams.classifier
    assert isinstance(classifier, PromotedClassifier) and classifier.version is None
    before = router.complete("Say hello item 1")

    settings = policy.model_copy(
        update={"learning": policy.learning.model_copy(update={"min_labels": 50})}
    )
    labelled_traffic(policy.ledger.url)
    store = LearningStore(policy.ledger.url)
    promoted = learn(settings, store, ArtefactDir(Path(policy.learning.artefact_dir)), now=now())
    assert promoted.status == "promoted"

    time.sleep(0.02)
    router.complete("Say hello item 2")  # notices the new pointer, loads it aside
    classifier.wait_for_reload()
    after = router.complete("hi zorblax item 3")
    router.close()

    assert classifier.version == promoted.candidate_version
    rows = {r["request_id"]: r for r in table(policy.ledger.url, RequestRow)}
    assert rows[before.request_id]["artefact_version"] is None  # the shipped prior decided
    assert rows[after.request_id]["artefact_version"] == promoted.candidate_version
    assert after.tier == "frontier"  # the learned model knows zorblax needs the frontier


def test_reload_policy_rereads_the_promoted_artefact_at_once(servers, tmp_path):
    policy = _classifier_policy(servers, tmp_path)
    router = Router(policy, ledger=open_ledger(policy.ledger.url))
    settings = policy.model_copy(
        update={"learning": policy.learning.model_copy(update={"min_labels": 50})}
    )
    labelled_traffic(policy.ledger.url)
    result = learn(
        settings,
        LearningStore(policy.ledger.url),
        ArtefactDir(Path(policy.learning.artefact_dir)),
        now=now(),
    )
    router.reload_policy(policy)
    assert router._state.pipeline.seams.classifier.version == result.candidate_version
    router.close()


def test_a_broken_pointer_keeps_the_artefact_in_use(tmp_path):
    artefacts = ArtefactDir(tmp_path)
    prior = load_classifier()
    classifier = PromotedClassifier(artefacts, prior, check_every_s=0.0)
    (tmp_path / "CURRENT").write_text("no-such-version\n")
    assert classifier.refresh() is False
    assert classifier.current is prior
    assert classifier.score("hello") == prior.score("hello")


def test_learning_spend_budget_setting_is_validated():
    with pytest.raises(ValueError, match="budget_usd_per_day is 0"):
        Policy(learning={"shadow_rate": 0.1})
    with pytest.raises(ValueError, match="local_only is true"):
        Policy(
            privacy={"local_only": True},
            frontier={"models": []},
            learning={"shadow_rate": 0.1, "budget_usd_per_day": Decimal(1)},
        )
    with pytest.raises(ValueError, match="needs the ledger"):
        Policy(
            ledger={"enabled": False},
            learning={"shadow_rate": 0.1, "budget_usd_per_day": Decimal(1)},
        )


def test_calibrate_from_labels_sets_the_threshold_on_the_stores_traffic(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    labelled_traffic(url, start=datetime.now(UTC) - timedelta(days=1))
    runner = CliRunner()
    assert runner.invoke(main, ["learn", "--ledger", url]).output.startswith("promoted:")
    share = runner.invoke(
        main, ["calibrate", "--from-labels", "--target-frontier-share", "0.34", "--ledger", url]
    )
    assert share.exit_code == 0, share.output
    assert "gives 33.3% frontier and 100.0% of the labelled gain on the 240" in share.output
    quality = runner.invoke(
        main, ["calibrate", "--from-labels", "--target-quality", "0.95", "--ledger", url]
    )
    pattern = r"gives ([\d.]+)% frontier and ([\d.]+)% of the labelled gain"
    found = re.search(pattern, quality.output)
    assert found is not None, quality.output
    share, captured = map(float, found.groups())
    assert captured >= 95.0 and share <= 100 / 3  # gain first: no more than the hard third
    both = runner.invoke(main, ["calibrate", "x.jsonl", "--from-labels", "--target-quality", "1"])
    assert both.exit_code == 2


def test_threshold_for_share_keeps_ties_together():
    assert threshold_for_share([0.9, 0.8, 0.7, 0.6], 0.5) == 0.8
    assert threshold_for_share([0.9, 0.8, 0.8, 0.6], 0.5) > 0.8  # the tie at the cut stays out
    assert threshold_for_share([0.9, 0.8], 0.0) > 0.9


@pytest.mark.parametrize(
    ("policy", "rate", "says"),
    [
        ("quality-first", 0.1, "verified labels: 10% of the local answers self_check passes"),
        ("quality-first", 0.0, "verified labels: off (learning.verified_label_rate: 0)"),
        ("default", 0.1, "add self_check, or pass your own verifiers=[...]"),
    ],
)
def test_learn_status_says_whether_the_policys_checks_can_make_verified_labels(
    tmp_path, policy, rate, says
):
    text = load_policy(policy).model_dump(mode="json")
    text["learning"]["verified_label_rate"] = rate
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(text), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = CliRunner().invoke(main, ["learn", "status", "--policy", str(path), "--ledger", url])
    assert result.exit_code == 0, result.output
    assert says in result.output
