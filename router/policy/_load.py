"""Load policies from YAML files (or the shipped ones by name) into validated `Policy` objects.

`extends:` is resolved here: the base is loaded (recursively), and this file is deep-merged
over it. Every problem found on the way is collected with its file and line.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from router.errors import PolicyError
from router.policy._merge import deep_merge, displaced_keys
from router.policy._model import Policy
from router.policy._problems import KeyPath, Lines, Problem, did_you_mean, ordered, problem_at
from router.policy._validate import check_document
from router.policy._yaml import parse_yaml

_SHIPPED = "_policies"
_MAX_DEPTH = 8
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """Policy text and where it came from."""

    text: str
    origin: str  # as shown in problems
    identity: str  # for cycle detection
    folder: Traversable  # where relative `extends:` paths start


@dataclass
class Resolved:
    """A policy file merged over its bases, before validation."""

    origin: str
    data: Any = None
    lines: Lines = field(default_factory=dict)
    chain: tuple[str, ...] = ()  # this file, then its base, then the base's base...
    problems: list[Problem] = field(default_factory=list)


def shipped_policy_names() -> list[str]:
    """Names of the policies that ship inside the package."""
    return sorted(p.name[:-5] for p in _shipped_folder().iterdir() if p.name.endswith(".yaml"))


def load_policy(source: Policy | str | Path | None = None) -> Policy:
    """A policy object, a file path, or the name of a shipped policy (`None` means `default`)."""
    if isinstance(source, Policy):
        return source
    return load_resolved(open_source(source))[0]


def load_resolved(source: Source) -> tuple[Policy, Resolved]:
    """The validated policy and the merged document it came from; `PolicyError` if invalid."""
    resolved = resolve(source)
    policy, problems = check_document(resolved)
    if policy is None:
        lines = [str(p) for p in ordered(problems, source.origin)]
        raise PolicyError(f"{source.origin}: invalid policy:\n" + "\n".join(lines), lines)
    return policy, resolved


def parse_policy(text: str, origin: str = "<string>", folder: str | Path = ".") -> Policy:
    """Validate policy YAML text; relative `extends:` paths start at `folder`."""
    return load_resolved(Source(text, origin, f"text:{origin}", Path(folder)))[0]


def open_source(source: str | Path | None) -> Source:
    """The policy file at a path, or the shipped policy of that name; `PolicyError` if neither."""
    found = find_source(source)
    if isinstance(found, Problem):
        raise PolicyError(f"{found.file}: {found.message}", [str(found)])
    return found


def find_source(source: str | Path | None) -> Source | Problem:
    """Like `open_source`, but returns the problem instead of raising it."""
    name = "default" if source is None else str(source)
    path = Path(name)
    try:
        is_file_like = path.suffix in _SUFFIXES or path.exists()
    except (OSError, ValueError):
        is_file_like = True
    if is_file_like:
        text = _read(path, name)
        if isinstance(text, Problem):
            return text
        return Source(text, name, f"file:{path.resolve()}", path.parent)
    shipped = _shipped(name)
    if shipped is None:
        known = ", ".join(shipped_policy_names())
        message = f"no policy file or shipped policy named {name!r}; shipped: {known}"
        return Problem(name, 1, "(file)", message)
    return shipped


def resolve(source: Source, seen: tuple[Source, ...] = ()) -> Resolved:
    """Parse `source` and merge it over the policy it extends (recursively)."""
    parsed = parse_yaml(source.text, source.origin)
    here = Resolved(source.origin, parsed.data, parsed.lines, (source.origin,), parsed.problems)
    if here.problems or not isinstance(here.data, Mapping) or here.data.get("extends") is None:
        return here
    base_source = _base_source(here, source, seen)
    if base_source is None:
        return here
    base = resolve(base_source, (*seen, source))
    if base.problems:
        here.problems.extend(base.problems)
        return here
    if not isinstance(base.data, Mapping):  # a YAML list, a bare string, an empty file
        kind = "empty" if base.data is None else f"a YAML {_yaml_kind(base.data)}"
        message = f"{base.origin!r} is not a policy ({kind}, not a mapping of policy keys)"
        here.problems.append(problem_at(here.lines, source.origin, [("extends",)], message))
        return here
    here.lines = _merge_lines(base.lines, here.lines, here.data)
    here.data = deep_merge(base.data, here.data)
    here.chain = (source.origin, *base.chain)
    return here


# -- finding files ---------------------------------------------------------------------------


def _shipped_folder() -> Traversable:
    return importlib.resources.files("router") / _SHIPPED


def _shipped(name: str) -> Source | None:
    folder = _shipped_folder()
    entry = folder / f"{name}.yaml"
    try:
        if "/" in name or "\\" in name or not entry.is_file():
            return None
    except (OSError, ValueError):
        return None
    return Source(entry.read_text(encoding="utf-8"), f"{name}.yaml", f"shipped:{name}", folder)


def _read(path: Path, origin: str) -> str | Problem:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            return Problem(origin, 1, "(file)", "no such file; check the path")
        why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "cannot be read"
        message = f"{why} ({type(exc).__name__}); check the path, or name a shipped policy"
        return Problem(origin, 1, "(file)", message)


def _base_source(here: Resolved, source: Source, seen: tuple[Source, ...]) -> Source | None:
    """The source `extends:` names, or None after recording why it cannot be used."""
    ref = here.data.get("extends")

    def fail(message: str) -> None:
        here.problems.append(problem_at(here.lines, source.origin, [("extends",)], message))

    if not isinstance(ref, str) or not ref.strip():
        fail("must name a shipped policy (e.g. default) or a path like base.yaml; fix the value")
        return None
    if len(seen) >= _MAX_DEPTH:
        fail(f"more than {_MAX_DEPTH} levels of extends; flatten the chain")
        return None
    base = _find_base(ref, source)
    if isinstance(base, str):
        fail(base)
        return None
    chain = (*seen, source)
    if base.identity in {s.identity for s in chain}:
        names = " -> ".join(s.origin for s in (*chain, base))
        fail(f"inheritance cycle ({names}); remove one of the extends")
        return None
    return base


def _find_base(ref: str, source: Source) -> Source | str:
    """The base named by `ref`, or a message saying why there is none."""
    if Path(ref).suffix in _SUFFIXES or "/" in ref or "\\" in ref:
        return _relative(ref, source)
    shipped = _shipped(ref)
    if shipped is not None:
        return shipped
    hint = did_you_mean(ref, shipped_policy_names(), "shipped")
    example = f"{ref.strip()}.yaml" if ref.strip().isprintable() else "team.yaml"
    return f"no shipped policy named {ref!r} ({hint}); for a file, write a path like {example}"


def _yaml_kind(data: object) -> str:
    return "list" if isinstance(data, list) else "scalar"


def _relative(ref: str, source: Source) -> Source | str:
    if source.identity.startswith("shipped:"):  # shipped policies only extend shipped ones
        shipped = _shipped(Path(ref).stem) if Path(ref).name == ref else None
        return shipped or f"no shipped policy file {ref!r}; fix the path"
    path = Path(os.path.normpath(Path(str(source.folder)) / ref))
    if path.suffix not in _SUFFIXES:  # never read /etc/passwd & co. as a policy
        return f"{str(path)!r} is not a policy file: name a .yaml or .yml file"
    if not path.is_file():
        return f"no such file {str(path)!r} (paths are relative to this file); fix the path"
    text = _read(path, str(path))
    if isinstance(text, Problem):
        return f"{str(path)!r}: {text.message}"
    return Source(text, str(path), f"file:{path.resolve()}", path.parent)


def _merge_lines(base: Lines, child: Lines, overlay: Mapping[Any, Any]) -> Lines:
    """Where each key of the merged data was written: the child's keys win."""
    merged = dict(base)
    _drop_replaced(merged, overlay, ())
    merged.update(child)
    return merged


def _drop_replaced(lines: Lines, overlay: Mapping[Any, Any], at: KeyPath) -> None:
    for key in displaced_keys(overlay, at):
        _drop(lines, (*at, key), inclusive=True)
    for key, value in overlay.items():
        if isinstance(value, Mapping):
            _drop_replaced(lines, value, (*at, key))
        else:
            _drop(lines, (*at, key), inclusive=False)


def _drop(lines: Lines, prefix: KeyPath, *, inclusive: bool) -> None:
    size = len(prefix)
    for path in [p for p in lines if p[:size] == prefix and (inclusive or len(p) > size)]:
        del lines[path]
