"""Render the policy reference (docs/policies.md) from the pydantic models themselves."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from router.policy._model import Policy
from router.policy._problems import bounds

BEGIN = "<!-- BEGIN GENERATED REFERENCE: edit router/policy/_model.py, then run "
BEGIN += "scripts/gen_policy_docs.py -->"
END = "<!-- END GENERATED REFERENCE -->"


def render_reference() -> str:
    """Markdown: one table per section, every key with its type, default and description."""
    parts = [BEGIN, ""]
    for path, model in _sections(Policy, "policy"):
        parts += _section(path, model)
    parts.append(END)
    return "\n".join(parts) + "\n"


def splice(document: str, reference: str) -> str:
    """`document` with the text between the markers replaced by `reference`."""
    head, found, rest = document.partition(BEGIN)
    if not found:
        return document.rstrip("\n") + "\n\n" + reference
    _, found, tail = rest.partition(END)
    return head + reference.rstrip("\n") + (tail if found else "\n")


def _sections(model: type[BaseModel], path: str) -> Iterator[tuple[str, type[BaseModel]]]:
    yield path, model
    for name, field in model.model_fields.items():
        child, suffix = _nested(field.annotation)
        if child is not None:
            yield from _sections(child, _child_path(path, name) + suffix)


def _child_path(path: str, name: str) -> str:
    return name if path == "policy" else f"{path}.{name}"


def _nested(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    inner = _unwrap(annotation)
    origin = get_origin(inner)
    if origin is tuple:
        found, suffix = _nested(get_args(inner)[0])
        return found, "[]" + suffix
    if origin is dict:
        found, suffix = _nested(get_args(inner)[1])
        return found, ".<name>" + suffix
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, ""
    return None, ""


def _section(path: str, model: type[BaseModel]) -> list[str]:
    title = "Top level" if path == "policy" else f"`{path}`"
    doc = " ".join((model.__doc__ or "").split())
    lines = [
        f"### {title}",
        "",
        doc,
        "",
        "| Key | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, field in model.model_fields.items():
        kind = _type(field.annotation, _child_path(path, name))
        lines.append(
            f"| `{name}` | {kind}{_bounds(field)} | {_default(field)} "
            f"| {_escape(field.description or '')} |"
        )
    lines.append("")
    return lines


def _type(annotation: Any, path: str) -> str:
    """A readable type; `path` names the section a nested model is documented in."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type(args[0], path)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return " or ".join(_type(m, path) for m in members) + " or null"
    if origin in (Literal, tuple, dict):
        return _container(origin, args, path)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"section `{path}`"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _container(origin: Any, args: tuple[Any, ...], path: str) -> str:
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is tuple:
        return f"list of {_type(args[0], path + '[]')}"
    return f"mapping of {_type(args[0], path)} to {_type(args[1], path + '.<name>')}"


_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Decimal: "decimal",
    SecretStr: "secret string",
    Any: "any",
}


def _bounds(field: FieldInfo) -> str:
    found = bounds(field)
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    parts = [f"{symbols[k]} {_plain(v)}" for k, v in found.items()]
    return f" ({', '.join(parts)})" if parts else ""


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see its section"
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return ", ".join(f"`{json.dumps(m.model_dump(exclude_defaults=True))}`" for m in value)
    return f"`{_plain(value)}`"


def _plain(value: Any) -> str:
    if isinstance(value, Decimal | float) and value == int(value):
        return str(int(value))
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list | dict | bool) or value in (None, ""):
        return json.dumps(value)
    return str(value)


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation
