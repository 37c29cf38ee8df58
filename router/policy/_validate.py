"""Validate a resolved policy (base, then each team and app override) into problems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from router.policy._merge import OVERRIDE_FORBIDDEN, deep_merge
from router.policy._model import Policy
from router.policy._prices import OVERRIDE_KINDS, price_problems
from router.policy._problems import KeyPath, Problem, problem_at, validation_problems

if TYPE_CHECKING:
    from router.policy._load import Resolved

Overrides = dict[str, dict[str, Any]]


def check_document(doc: Resolved) -> tuple[Policy | None, list[Problem]]:
    """The one validator: `load_policy`, `Router(...)` and `router policy check` all call it.

    A resolved document's problems are those found reading it (YAML, `extends`), or else every
    validation problem plus every model nobody can price. The policy only when there are none.
    """
    if doc.problems:
        return None, list(doc.problems)
    policy, problems = validate(doc)
    if isinstance(doc.data, Mapping):
        problems.extend(price_problems(doc))
    return (None, problems) if problems else (policy, [])


def validate(doc: Resolved) -> tuple[Policy | None, list[Problem]]:
    """The policy, or every problem found (base keys, each override, each team+app pair)."""
    if not isinstance(doc.data, Mapping):
        message = "a policy must be a mapping of keys to values; start with e.g. `name: my-policy`"
        return None, [Problem(doc.origin, 1, "(top level)", message)]
    problems: list[Problem] = []
    base_data = {k: v for k, v in doc.data.items() if k not in OVERRIDE_KINDS}
    base = _attempt(base_data, doc, (), problems)
    teams = _overrides(doc, "teams", problems)
    apps = _overrides(doc, "apps", problems)
    if base is None:
        return None, problems
    teams = {n: o for n, o in teams.items() if _attempt_over(base_data, [o], doc, problems, n)}
    apps = {
        n: o for n, o in apps.items() if _attempt_over(base_data, [o], doc, problems, n, "apps")
    }
    for team, team_override in teams.items():
        for app, app_override in apps.items():
            suffix = f" (when combined with team {team!r})"
            layers = [team_override, app_override]
            _attempt_over(base_data, layers, doc, problems, app, "apps", suffix)
    if problems:
        return None, problems
    return Policy.model_validate({**base_data, "teams": teams, "apps": apps}), []


def _attempt(
    data: Mapping[str, Any],
    doc: Resolved,
    prefix: KeyPath,
    problems: list[Problem],
    suffix: str = "",
) -> Policy | None:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, doc.lines, doc.origin, prefix, suffix))
    except RecursionError:
        message = "nested too deeply; simplify the structure"
        problems.append(problem_at(doc.lines, doc.origin, [prefix], message))
    return None


def _attempt_over(  # noqa: PLR0917 - private helper with a fixed call pattern
    base: Mapping[str, Any],
    layers: list[dict[str, Any]],
    doc: Resolved,
    problems: list[Problem],
    name: str,
    kind: str = "teams",
    suffix: str = "",
) -> bool:
    data: Mapping[str, Any] = base
    for layer in layers:
        data = deep_merge(data, layer)
    return _attempt(data, doc, (kind, name), problems, suffix) is not None


def _overrides(doc: Resolved, kind: str, problems: list[Problem]) -> Overrides:
    """The well-formed overrides of one kind; problems for the rest."""
    raw = doc.data.get(kind)
    if raw is None:
        return {}
    noun = kind[:-1]
    if not isinstance(raw, Mapping):
        message = f"must map {noun} names to partial policies, e.g. `support: {{routing: ...}}`"
        problems.append(problem_at(doc.lines, doc.origin, [(kind,)], message))
        return {}
    found: Overrides = {}
    for name, override in raw.items():
        problem = _override_problem(name, override, noun)
        if problem is not None:
            path, message = problem
            problems.append(problem_at(doc.lines, doc.origin, [(kind, name, *path)], message))
        else:
            found[name] = dict(override or {})
    return found


def _override_problem(name: Any, override: Any, noun: str) -> tuple[KeyPath, str] | None:
    if not isinstance(name, str):
        return (), f"{noun} names must be text; quote the name"
    if override is not None and not isinstance(override, Mapping):
        return (), "must be a partial policy (a mapping), e.g. `routing: {threshold: 0.7}`"
    forbidden = sorted(OVERRIDE_FORBIDDEN & set(override or {}))
    if forbidden:
        key = forbidden[0]
        return (key,), f"an override cannot set {key!r}; set it at the top of the policy instead"
    return None
