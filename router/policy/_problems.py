"""Problems in policy files: `file:line: key: what is wrong; how to fix it`.

Pydantic's validation errors are translated here, with the line taken from the YAML node of
the key (see `_yaml.py`) and hints computed from the models themselves (valid keys, ranges).
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from router.policy._merge import OVERRIDE_FORBIDDEN

KeyPath = tuple[Any, ...]
Lines = dict[KeyPath, tuple[str, int]]  # key path -> (file, 1-based line of the key)

_OVERRIDES = ("teams", "apps")
_SECRET_KEYS = frozenset({"api_key"})
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_TYPE_HINTS: Mapping[str, tuple[str, str]] = {
    "bool_type": ("must be true or false", "write true or false"),
    "bool_parsing": ("must be true or false", "write true or false"),
    "int_type": ("must be a whole number", "write digits only, e.g. 3"),
    "int_parsing": ("must be a whole number", "write digits only, e.g. 3"),
    "int_from_float": ("must be a whole number", "write digits only, e.g. 3"),
    "float_type": ("must be a number", "write a plain number, e.g. 0.5"),
    "float_parsing": ("must be a number", "write a plain number, e.g. 0.5"),
    "finite_number": ("must be a finite number", "write a plain number, e.g. 0.5"),
    "decimal_type": ("must be a number", "write a plain number, e.g. 2.50"),
    "decimal_parsing": ("must be a number", "write a plain number, e.g. 2.50"),
    "string_type": ("must be text", "write a plain or quoted string"),
    "dict_type": ("must be a mapping of keys to values", "indent its keys under it"),
    "model_type": ("must be a mapping of keys to values", "indent its keys under it"),
    "model_attributes_type": ("must be a mapping of keys to values", "indent its keys under it"),
    "tuple_type": ("must be a list", "write one '- item' per line under it"),
    "list_type": ("must be a list", "write one '- item' per line under it"),
    "recursion_loop": ("refers to itself through a YAML alias", "remove the alias"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy file, with where it is and how to fix it."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


def dotted(path: KeyPath) -> str:
    """`('frontier', 'models', 0, 'model')` -> `frontier.models[0].model`."""
    text = ""
    for part in path:
        text += (
            f"[{part}]"
            if isinstance(part, int) and not isinstance(part, bool)
            else f".{_name(part)}"
        )
    return text.lstrip(".") or "(top level)"


def _name(part: object) -> str:
    """A key as written, quoted when it is empty, padded or holds line breaks or control
    characters, so a problem always stays on one `file:line: key: message` line."""
    text = str(part)
    plain = text and text == text.strip() and text.isprintable()
    return text if plain else repr(text)


def locate(lines: Lines, root: str, candidates: Sequence[KeyPath]) -> tuple[KeyPath, str, int]:
    """The first candidate the file contains; else the nearest key above the first candidate."""
    for path in candidates:
        if path in lines:
            return (path, *lines[path])
    first = candidates[0] if candidates else ()
    for size in range(len(first) - 1, 0, -1):
        if first[:size] in lines:
            return (first, *lines[first[:size]])
    return (first, root, 1)


def problem_at(lines: Lines, root: str, candidates: Sequence[KeyPath], message: str) -> Problem:
    path, file, line = locate(lines, root, candidates)
    return Problem(file, line, dotted(path), message)


def validation_problems(
    exc: ValidationError, lines: Lines, root: str, prefix: KeyPath = (), suffix: str = ""
) -> list[Problem]:
    """One `Problem` per pydantic error; `prefix` is where the validated data sits in the file."""
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        at = err.get("ctx", {}).get("at") if err["type"] == "policy_conflict" else None
        candidates = [loc + tuple(p) for p in at] if at else [_strip_key_marker(loc)]
        message = _message(err, candidates[0], "[key]" in loc) + suffix
        problems.append(problem_at(lines, root, candidates, message))
    return problems


def ordered(problems: Iterable[Problem], root: str) -> list[Problem]:
    """Unique problems: the checked file first, then its bases, each by line."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file != root, p.file, p.line, p.key))


def closest(word: object, choices: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: object, choices: Iterable[str], noun: str = "valid keys") -> str:
    options = sorted(choices)
    match = closest(word, options)
    return f"did you mean {match!r}?" if match else f"{noun}: {', '.join(options)}"


# -- messages ------------------------------------------------------------------------------------


def _strip_key_marker(loc: KeyPath) -> KeyPath:
    return loc[: loc.index("[key]")] if "[key]" in loc else loc


def _message(err: Any, path: KeyPath, is_key: bool) -> str:
    kind: str = err["type"]
    if kind in {"policy_conflict", "value_error"}:
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return _unknown_key(path)
    if kind == "missing":
        return "required key is missing; add it"
    if kind == "literal_error":
        return _literal(err, is_key)
    got = _got(err["input"], path)
    if kind in _RANGE_ERRORS:
        return f"out of range{got}; use a value {_range(path, err.get('ctx', {}))}"
    what, fix = _TYPE_HINTS.get(kind, (_lower_first(str(err["msg"])), "fix the value"))
    return f"{what}{got}; {fix}"


def _unknown_key(path: KeyPath) -> str:
    parent = model_at(path[:-1])
    if parent is None:
        return "unknown key; remove it"
    valid: Iterable[str] = parent.model_fields
    if len(path) == 3 and path[0] in _OVERRIDES:
        valid = set(valid) - OVERRIDE_FORBIDDEN
    return "unknown key; " + did_you_mean(path[-1], valid)


def _literal(err: Any, is_key: bool) -> str:
    choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
    value = err["input"]
    if is_key:
        return "unknown name; " + did_you_mean(value, choices, "valid names")
    match = closest(value, choices)
    fix = f"did you mean {match!r}?" if match else "use one of those"
    return f"must be one of {', '.join(choices)}{_got(value, ())}; {fix}"


def _got(value: Any, path: KeyPath) -> str:
    if path and path[-1] in _SECRET_KEYS:
        return ""
    return f" (got {_show(value)})"


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _number(value: float | Decimal) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _range(path: KeyPath, ctx: Mapping[str, Any]) -> str:
    limits = dict(ctx)
    field = field_at(path)
    if field is not None:
        limits = {**bounds(field), **limits}
    if "ge" in limits and "le" in limits:
        return f"between {_number(limits['ge'])} and {_number(limits['le'])}"
    return " and ".join(part for part in (_low(limits), _high(limits)) if part) or "in range"


def _low(bounds: Mapping[str, Any]) -> str:
    if "ge" in bounds:
        return f"of at least {_number(bounds['ge'])}"
    return f"greater than {_number(bounds['gt'])}" if "gt" in bounds else ""


def _high(bounds: Mapping[str, Any]) -> str:
    if "le" in bounds:
        return f"at most {_number(bounds['le'])}"
    return f"less than {_number(bounds['lt'])}" if "lt" in bounds else ""


def bounds(field: FieldInfo) -> dict[str, Any]:
    metadata = list(field.metadata)
    for arg in get_args(field.annotation):
        if get_origin(arg) is Annotated:
            for extra in get_args(arg)[1:]:
                metadata.extend(getattr(extra, "metadata", [extra]))
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    return found


# -- walking the models ----------------------------------------------------------------------


def model_at(path: KeyPath) -> type[BaseModel] | None:
    """The model class that validates the mapping at `path` (overrides count as policies)."""
    found = _type_at(path)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def field_at(path: KeyPath) -> FieldInfo | None:
    parent = model_at(path[:-1]) if path else None
    if parent is None or not isinstance(path[-1], str):
        return None
    return parent.model_fields.get(path[-1])


def _type_at(path: KeyPath) -> Any:
    from router.policy._model import Policy  # noqa: PLC0415 - the models import this module

    if len(path) >= 2 and path[0] in _OVERRIDES:
        path = path[2:]
    current: Any = Policy
    for part in path:
        current = _child(_unwrap(current), part)
        if current is None:
            return None
    return _unwrap(current)


def _child(tp: Any, part: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return None if field is None else field.annotation
    origin = get_origin(tp)
    if origin in (tuple, list):
        return get_args(tp)[0]
    if origin is dict:
        return get_args(tp)[1]
    return None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            tp = members[0]
        else:
            return tp
