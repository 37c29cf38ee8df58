"""`router adapt`: learn from a labelled traffic file on top of the shipped prior."""

from __future__ import annotations

from pathlib import Path

import click

from router.errors import RouterError
from router.evaluation import DataFormatError

_HINT = (
    "each line needs id, prompt, scores, local_model and frontier_model, with numeric scores "
    "for both models (--local-model / --frontier-model name the pair for every row; see "
    "docs/learning.md, 'What adapt accepts')"
)


class TrafficInputError(click.ClickException):
    """A bad traffic row: exit code 2, like a usage error."""

    exit_code = 2


@click.command()
@click.option(
    "--traffic",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON Lines in the shared-data schema: id, prompt, scores, local_model, frontier_model.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for learned.json (use it with --classifier DIR or load_classifier(DIR)).",
)
@click.option(
    "--prior",
    "prior_path",
    type=click.Path(exists=True, path_type=Path),
    help="Classifier to learn on top of (default: the shipped one).",
)
@click.option(
    "--local-model", help="Model kept local, for every row (default: each row's local_model)."
)
@click.option(
    "--frontier-model",
    help="Escalation model, for every row (default: each row's frontier_model).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the file at its first unusable row instead of skipping such rows.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Recorded in the artefact.")
def adapt(
    *,
    traffic: Path,
    out_dir: Path,
    prior_path: Path | None,
    seed: int,
    local_model: str | None,
    frontier_model: str | None,
    strict: bool,
) -> None:
    """Learn where this local model falls short of this frontier model, from labelled traffic.

    Each row's gain label is scores[frontier_model] - scores[local_model], pooled (30%) with the
    file's models at least as strong as the frontier model and at most as strong as the local
    one, when the rows score more models than the pair. With few labels the
    result is the prior alone; the in-domain part earns weight as labels accumulate. Rows that
    name a `task` add an offset per task where the tasks differ, and the fit ends with a slope
    on prompt length (per task when the rows name tasks). Use the
    result with `router score --classifier DIR`, `router eval FILE --classifier DIR` or
    `Router(classifier=load_classifier(DIR))`.

    \b
    Examples:
      router adapt --traffic labelled.jsonl --out build/adapted
      router adapt --traffic labelled.jsonl --out build/adapted --prior build/clf
      router adapt --traffic export.jsonl.gz --out build/adapted \\
          --local-model ollama/qwen3.5:9b --frontier-model openai/gpt-5.4
    """
    from router.classifier import load_classifier  # noqa: PLC0415
    from router.learning._adapt import adapt as run  # noqa: PLC0415 - numpy/scikit-learn
    from router.learning._adapt import describe  # noqa: PLC0415
    from router.learning._traffic import Pair  # noqa: PLC0415

    try:
        prior = load_classifier(prior_path) if prior_path else None
        pair = Pair(local_model, frontier_model)
        learned = run(traffic, out_dir, prior=prior, seed=seed, pair=pair, strict=strict)
    except DataFormatError as exc:
        raise TrafficInputError(f"{exc}\nHint: {_HINT}") from exc
    except RouterError as exc:
        raise click.ClickException(f"{exc}\nHint: check --prior, or omit it") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_dir}: {exc.strerror or exc}") from exc
    for line in describe(learned):
        click.echo(line)
    t = learned.training
    click.echo(
        f"learned from {t.get('examples')} labelled rows: {t.get('chosen')}; "
        f"version {learned.version} -> {out_dir}"
    )


def register(group: click.Group) -> None:
    """Add `router adapt` to the top-level `router` group."""
    group.add_command(adapt)
