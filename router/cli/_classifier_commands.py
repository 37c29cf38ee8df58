"""`router train | score | eval | calibrate`: thin wrappers over router.classifier/evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import click

from router.classifier import Classifier, load_classifier
from router.classifier._batch import (
    ScoreInputError,
    ScoreRequest,
    score_file,
    score_requests,
    scored_lines,
)
from router.classifier._peers import LiteLLMPeer, PeerKind
from router.errors import RouterError
from router.evaluation import DataFormatError, evaluate_file, policy_fragment, read_outcomes
from router.evaluation import calibrate as pick_threshold
from router.evaluation._harness import score_rows
from router.evaluation._read import STDIN, read_notes, read_pair

_PEERS: dict[str, PeerKind] = {
    "litellm-heuristic": "heuristic",
    "litellm-heuristic-v2": "heuristic_v2",
}
_IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SCHEMA_HINT = "the file must follow the shared-data schema (see docs/classifier.md)"
_READ_HINT = (
    "each row needs a prompt and numeric scores; the file is read as `router adapt` reads it "
    "(docs/learning.md, 'What adapt accepts'): unusable rows are skipped and counted unless "
    "--strict"
)
_classifier_option = click.option(
    "--classifier",
    "classifier_path",
    type=click.Path(exists=True, path_type=Path),
    help="Artefact file or `router train` output DIR (default: the shipped classifier).",
)
_local_option = click.option(
    "--local-model",
    help="Model kept local (default: qwen3.5:9b if the file scores it, else the file's own).",
)
_frontier_option = click.option(
    "--frontier-model",
    help="Escalation model (default: gpt-5.4 if the file scores it, else the file's own).",
)
_strict_option = click.option(
    "--strict",
    is_flag=True,
    help="Refuse the file at its first unusable row, or row without a score for the pair, "
    "instead of skipping such rows.",
)


class InputError(click.ClickException):
    """Bad input rows: exit code 2, like a usage error."""

    exit_code = 2


def _fail(exc: RouterError, hint: str) -> click.ClickException:
    return click.ClickException(f"{exc}\nHint: {hint}")


def _fail_eval(exc: RouterError) -> click.ClickException:
    """`router eval` / `calibrate`: a hint on the file, or on the artefact."""
    if isinstance(exc, DataFormatError):
        return _fail(exc, _READ_HINT)
    return _fail(exc, "pass --classifier DIR made by 'router train' or 'router adapt', or omit it")


@click.command()
@click.option(
    "--data",
    "data",
    type=_IN_FILE,
    multiple=True,
    required=True,
    help="Outcome file in the shared-data schema; repeat for each file.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for default.json (the artefact) and validation.json.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random splits.")
@click.option(
    "--validate/--no-validate",
    default=True,
    show_default=True,
    help="Run cross-source and random-split validation before the final fit.",
)
@click.option(
    "--compare-peers",
    is_flag=True,
    help="Also score held-out files with litellm's heuristic and heuristic_v2.",
)
def train(
    *, data: tuple[Path, ...], out_dir: Path, seed: int, validate: bool, compare_peers: bool
) -> None:
    """Rebuild the classifier artefact from outcome files and print validation metrics.

    \b
    Examples:
      router train --data mmlu-pro.jsonl --data llmrouter-train.jsonl --out build/clf
      router train --data a.jsonl --data b.jsonl --out build/clf --compare-peers
      router train --data a.jsonl --data b.jsonl --out build/clf --no-validate
      cp build/clf/default.json router/data/classifier/default.json
    """
    from router.classifier._build import train as run  # noqa: PLC0415 - numpy/scipy/sklearn

    try:
        report = run(list(data), out_dir, seed=seed, validate=validate, compare_peers=compare_peers)
    except RouterError as exc:
        raise _fail(exc, _SCHEMA_HINT) from exc
    click.echo(report.table)
    click.echo(f"wrote {report.artefact_path} ({report.size_bytes / 1024:.0f} KiB)")


@click.command()
@click.argument("prompts", nargs=-1)
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    help='JSON Lines of {"id", "prompt"} with an optional "response" and "task" '
    "(- for standard input).",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help='Where to write {"id", "score"} rows, in input order (default, or -: standard output).',
)
@click.option(
    "--task",
    help="The task of the prompts given as arguments (rows in --input carry their own): an "
    "artefact of 'router adapt' on rows naming tasks moves their scores by its offset.",
)
@_classifier_option
def score(
    *,
    prompts: tuple[str, ...],
    input_path: Path | None,
    output_path: Path | None,
    task: str | None,
    classifier_path: Path | None,
) -> None:
    """Score prompts in [0, 1] (higher: the local answer is more likely to fall short).

    \b
    Examples:
      router score "What is the capital of France?" "Prove that sqrt(2) is irrational."
      router score --classifier build/adapted --task support "Reset my password"
      router score --input requests.jsonl --output scores.jsonl
      router score --input answered.jsonl --classifier build/clf > scores.jsonl
    (a row with "response" is scored after the answer, when the artefact has a post-hoc model;
    a row's "task" moves its score when the artefact learned that task with 'router adapt')
    """
    _check_score_sources(prompts, input_path, output_path, task)
    try:
        classifier = load_classifier(classifier_path)
        if input_path is None:
            asked = [ScoreRequest(n, prompt, None, task) for n, prompt in enumerate(prompts)]
            _print_scores(prompts, score_requests(classifier, asked))
        else:
            _score_rows(classifier, input_path, output_path)
    except ScoreInputError as exc:
        raise InputError(
            f"{exc}\nHint: each line must be an object with 'id' and 'prompt'"
        ) from exc
    except RouterError as exc:
        raise _fail(exc, "pass --classifier DIR made by 'router train', or reinstall") from exc


def _check_score_sources(
    prompts: tuple[str, ...], input_path: Path | None, output_path: Path | None, task: str | None
) -> None:
    """Prompts as arguments (printed; --task) or an --input file (rows to --output), one."""
    if input_path is not None and task is not None:
        raise click.UsageError("--task goes with prompts given as arguments; rows name their own")
    if prompts and input_path is not None:
        raise click.UsageError("give prompts as arguments or --input FILE, not both")
    if not prompts and input_path is None:
        raise click.UsageError(
            "nothing to score: give prompts as arguments, or --input FILE (- for standard input)"
        )
    if prompts and output_path is not None:
        raise click.UsageError("--output goes with --input; prompts given as arguments print")


def _print_scores(prompts: tuple[str, ...], scores: list[float]) -> None:
    """One line per prompt: the score, then the prompt on one line (cut at 70 characters)."""
    for prompt, value in zip(prompts, scores, strict=True):
        shown = " ".join(prompt.split())
        click.echo(f"{value:.3f}  {shown if len(shown) <= 70 else shown[:69] + '…'}")


def _score_rows(classifier: Classifier, source: Path, target: Path | None) -> None:
    if target is None or target == STDIN:
        click.echo("".join(scored_lines(classifier, source)), nl=False)
        return
    n = score_file(classifier, source, target)
    click.echo(f"scored {n} prompts -> {target}", err=True)


@click.command(name="eval")
@click.argument("data_file", type=_IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write quality vs frontier share (with random and oracle lines) as PNG.",
)
@click.option("--peer", type=click.Choice(sorted(_PEERS)), help="Also evaluate a litellm scorer.")
@click.option(
    "--cascade/--no-cascade",
    default=True,
    show_default=True,
    help="Also evaluate after the answer, on files that keep the local model's answers.",
)
@click.option(
    "--list-models",
    is_flag=True,
    help="List the file's models (prompts, mean quality, default pairs) and exit.",
)
@_local_option
@_frontier_option
@_strict_option
@_classifier_option
def eval_command(
    *,
    data_file: Path,
    as_json: bool,
    plot: Path | None,
    peer: str | None,
    local_model: str | None,
    frontier_model: str | None,
    classifier_path: Path | None,
    cascade: bool,
    list_models: bool,
    strict: bool,
) -> None:
    """APGR, CPT(20/50/80%) and cost saved at 95% of frontier quality on a labelled file.

    The pair evaluated is the one named by --local-model / --frontier-model, else the pair this
    product routes (Qwen 3.5 9B vs GPT-5.4) when the file scores both, else the file's own
    default pair; the output says which and why (--list-models shows what the file has).

    When the file keeps the local model's answers (`responses`), also prints the metrics before
    the answer (prompt-only score) and after it (the cascade: structural/format verifiers, then
    the post-hoc score of prompt + answer) side by side.

    The file is read as `router adapt` reads it (gzip, UTF-16, chat prompts, other score
    scales, ...); unusable rows are skipped and counted (--strict refuses them).

    \b
    Examples:
      router eval mmlu-pro.jsonl
      router eval mmlu-pro.jsonl --list-models
      router eval mmlu-pro.jsonl --peer litellm-heuristic --plot curve.png
      router eval m-ifeval.jsonl --json --no-cascade
      router eval m-ifeval.jsonl --local-model Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4 \\
          --frontier-model o1-preview-2024-09-12
    """
    if list_models:
        _list_models(data_file, strict)
        return
    try:
        clf = load_classifier(classifier_path)
        scorers = {"cost-router": clf.score_batch}
        if peer:
            scorers[peer] = LiteLLMPeer(_PEERS[peer]).score_batch
        result = evaluate_file(
            data_file,
            scorers,
            local_model=local_model,
            frontier_model=frontier_model,
            plot=plot,
            after=clf.score_batch if cascade else None,
            strict=strict,
        )
    except RouterError as exc:
        raise _fail_eval(exc) from exc
    click.echo(json.dumps(result.to_json(), indent=1) if as_json else result.to_text())
    if plot is not None:
        click.echo(f"plot written to {plot}", err=as_json)


def _list_models(data_file: Path, strict: bool) -> None:
    from router.evaluation._pairs import list_models  # noqa: PLC0415

    try:
        read = read_outcomes(data_file, strict=strict)
    except RouterError as exc:
        raise _fail(exc, _READ_HINT) from exc
    for line in read_notes(read.to_json()):
        click.echo(line)
    click.echo(list_models(read.rows))


@click.command()
@click.argument("data_file", type=_IN_FILE, required=False)
@click.option(
    "--from-labels",
    is_flag=True,
    help="Instead of a file: the ledger's learning store (see `router learn`; --ledger, --policy).",
)
@click.option("--ledger", "ledger_url", metavar="URL", help="With --from-labels: the ledger.")
@click.option("--policy", help="With --from-labels: the policy (its learning: section).")
@click.option(
    "--target-frontier-share",
    type=click.FloatRange(0, 1),
    help="Largest share of requests to send to the frontier model, e.g. 0.2.",
)
@click.option(
    "--target-quality",
    type=click.FloatRange(0, 1),
    help="Fraction of the frontier model's quality to reach, e.g. 0.95.",
)
@_local_option
@_frontier_option
@_strict_option
@_classifier_option
def calibrate(
    *,
    data_file: Path | None,
    from_labels: bool,
    ledger_url: str | None,
    policy: str | None,
    target_frontier_share: float | None,
    target_quality: float | None,
    local_model: str | None,
    frontier_model: str | None,
    classifier_path: Path | None,
    strict: bool,
) -> None:
    """Pick the routing threshold on a labelled file and print the policy YAML to paste.

    The policy escalates a request when its score is >= the threshold. The file is read as
    `router eval` reads it; what was skipped or rescaled is said on stderr.

    \b
    Examples:
      router calibrate mmlu-pro.jsonl --target-frontier-share 0.2
      router calibrate m-ifeval.jsonl --target-quality 0.95
      router calibrate --from-labels --target-frontier-share 0.2
    """
    if (target_frontier_share is None) == (target_quality is None):
        raise click.UsageError("give exactly one of --target-frontier-share and --target-quality")
    if from_labels == (data_file is not None):
        raise click.UsageError("give a DATA_FILE or --from-labels")
    if from_labels:
        from router.cli._learning_commands import calibrate_from_labels  # noqa: PLC0415

        click.echo(calibrate_from_labels(policy, ledger_url, target_frontier_share, target_quality))
        return
    assert data_file is not None
    try:
        read = read_pair(data_file, local_model, frontier_model, strict=strict)
        pair = read.pair
        scores = score_rows(load_classifier(classifier_path).score_batch, pair.rows)
    except RouterError as exc:
        raise _fail_eval(exc) from exc
    for line in read_notes(read.read.to_json()):
        click.echo(line, err=True)
    cal = pick_threshold(
        scores, pair, target_share=target_frontier_share, target_quality=target_quality
    )
    click.echo(policy_fragment(cal, data_file.name), nl=False)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level `router` group."""
    for command in (train, score, eval_command, calibrate):
        group.add_command(command)
