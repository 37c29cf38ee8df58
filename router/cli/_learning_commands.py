"""`router learn`, `router learn purge|status` and `router feedback`: thin over router.learning."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from router.cli._time_param import UTC_TIME

if TYPE_CHECKING:
    from router.learning import ArtefactDir, LearningStore
    from router.policy import Policy

_policy_option = click.option(
    "--policy", default=None, help="Policy file or shipped name (its learning: section)."
)
_ledger_option = click.option(
    "--ledger", "url", metavar="URL", help="Ledger URL (default: the policy's, else your ledger)."
)


def _open(policy_name: str | None, url: str | None) -> tuple[Policy, LearningStore, ArtefactDir]:
    from router.learning import ArtefactDir, LearningStore, default_artefact_dir  # noqa: PLC0415
    from router.policy import load_policy  # noqa: PLC0415

    policy = load_policy(policy_name)
    ledger_url = url or policy.ledger.url
    artefacts = ArtefactDir(default_artefact_dir(policy, ledger_url))
    return policy, LearningStore(ledger_url), artefacts


def _now() -> datetime:
    return datetime.now(UTC)


@click.group("learn", invoke_without_command=True)
@_policy_option
@_ledger_option
@click.option(
    "--from-file",
    "files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Also store the labels of a file in the shared-data schema (as `router adapt` reads "
    "it: each row's own local_model and frontier_model); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def learn(
    ctx: click.Context,
    *,
    policy: str | None,
    url: str | None,
    files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Train a candidate on the ledger's labels and promote it only if it routes better.

    The most recent labelled traffic is held back; the candidate must capture more of its
    gain than the artefact in use (the shipped prior at first). A running router picks a
    promoted artefact up by itself. See docs/learning.md.

    \b
    Examples:
      router learn
      router learn --from-file our-traffic.jsonl
      router learn status
      router learn purge --before 2026-01-01
    """
    if ctx.invoked_subcommand is not None:
        return
    from router.learning._files import import_file  # noqa: PLC0415
    from router.learning._promote import learn as run_learn  # noqa: PLC0415

    settings, store, artefacts = _open(policy, url)
    try:
        keep = settings.privacy.capture_content
        for path in files:
            done = import_file(path, store, now=_now(), keep_text=keep)
            click.echo(done.to_text(), err=as_json)
        result = run_learn(settings, store, artefacts, now=_now())
    finally:
        store.close()
    click.echo(json.dumps(result.to_json(), indent=1) if as_json else result.to_text())


@learn.command("purge")
@_policy_option
@_ledger_option
@click.option("--before", type=UTC_TIME, help="Delete what was observed before this UTC date.")
@click.option("--all", "everything", is_flag=True, help="Delete every stored label and request.")
def purge(
    *, policy: str | None, url: str | None, before: datetime | None, everything: bool
) -> None:
    """Delete stored learning data: requests' features and their labels.

    Learning spend records stay (they are costs, and hold no prompt data). Artefacts already
    trained are not changed; `router learn` retrains from what remains.

    \b
    Examples:
      router learn purge --before 2026-01-01
      router learn purge --all
    """
    if before is None and not everything:
        raise click.UsageError("give --before DATE or --all")
    if before is not None and everything:
        raise click.UsageError("give --before DATE or --all, not both")
    _, store, _ = _open(policy, url)
    try:
        cutoff = None if everything else before.replace(tzinfo=UTC) if before else None
        done = store.purge(cutoff)
    finally:
        store.close()
    click.echo(f"deleted {done.requests} stored request(s) and {done.labels} label(s)")


@learn.command("status")
@_policy_option
@_ledger_option
def status(policy: str | None, url: str | None) -> None:
    """Labels per source, learning spend, and the artefact in use with its history.

    \b
    Examples:
      router learn status
      router learn status --ledger postgresql://router@db.internal/ledger
    """
    settings, store, artefacts = _open(policy, url)
    try:
        counts, spend, history = store.label_counts(), store.spend(), store.artefacts()
    finally:
        store.close()
    labels = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none yet"
    click.echo(f"labels: {labels}")
    click.echo(_verified_labels(settings))
    total = sum(spend.values())
    parts = ", ".join(f"{k} ${v:.4f}" for k, v in spend.items())
    click.echo(f"learning spend (all time): ${total:.4f}" + (f" ({parts})" if parts else ""))
    click.echo(f"artefact in use: {artefacts.current_version() or 'shipped prior'}")
    click.echo(f"artefacts: {artefacts.root}")
    for row in history[-5:]:
        click.echo(f"  {row['created_at']:%Y-%m-%d %H:%M} {row['status']:8} {row['version']}")
    if not settings.learning.enabled:
        click.echo("learning is off in this policy (learning.enabled: false)")


def _verified_labels(policy: Policy) -> str:
    """Whether this policy's local answers can become verified labels, and from which checks."""
    from router.verify import judges_content  # noqa: PLC0415

    rate = policy.learning.verified_label_rate
    if rate <= 0:
        return "verified labels: off (learning.verified_label_rate: 0)"
    content = [name for name in policy.verify if judges_content(name)]
    if content:
        return f"verified labels: {rate:.0%} of the local answers {' & '.join(content)} passes"
    checks = ", ".join(policy.verify) or "none"
    return (
        f"verified labels: none from this policy's checks ({checks}: form only); "
        "add self_check, or pass your own verifiers=[...], for the local model's successes "
        "to count (docs/learning.md)"
    )


@click.command("feedback")
@click.argument("request_id")
@click.option("--good/--bad", default=None, help="Was the answer good?")
@click.option("--score", type=click.FloatRange(0, 1), help="Instead: a score, 0 bad to 1 good.")
@click.option("--note", help="Why (stored only when the policy captures content).")
@_policy_option
@_ledger_option
def feedback(
    *,
    request_id: str,
    good: bool | None,
    score: float | None,
    note: str | None,
    policy: str | None,
    url: str | None,
) -> None:
    """Record whether a routed request's answer was good; it becomes a learning label.

    Giving feedback again replaces the earlier one. See docs/learning.md.

    \b
    Examples:
      router feedback 3f2a9c... --good
      router feedback 3f2a9c... --bad --note "wrong total"
      router feedback 3f2a9c... --score 0.7
    """
    from router.learning._feedback import feedback_score, record_feedback  # noqa: PLC0415

    if (good is None) == (score is None):
        raise click.UsageError("give one of --good, --bad or --score")
    value = feedback_score(score, good)
    settings, store, _ = _open(policy, url)
    keep = settings.privacy.capture_content
    try:
        receipt = record_feedback(store, request_id, value, note=note, keep_note=keep, now=_now())
    finally:
        store.close()
    click.echo(f"{receipt.outcome}: {request_id} score {receipt.score:g}; {receipt.reason}")
    if note is not None and not receipt.note_stored:
        click.echo("the note was not stored: privacy.capture_content is off", err=True)


def calibrate_from_labels(
    policy: str | None, url: str | None, share: float | None, quality: float | None
) -> str:
    """`router calibrate --from-labels`: the threshold on the store's traffic, as YAML."""
    from router.learning import LearnedClassifier  # noqa: PLC0415
    from router.learning._calibrate import calibrate_from_store  # noqa: PLC0415

    _, store, artefacts = _open(policy, url)
    try:
        model = artefacts.load_current()
        if model is None:
            from router.classifier import load_classifier  # noqa: PLC0415

            model = LearnedClassifier(load_classifier())
        found = calibrate_from_store(store, model, target_share=share, target_quality=quality)
    finally:
        store.close()
    return found.fragment(artefacts.current_version()).rstrip("\n")


def register(group: click.Group) -> None:
    """Add `learn` and `feedback` to the top-level `router` group."""
    group.add_command(learn)
    group.add_command(feedback)
