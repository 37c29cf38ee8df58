"""Format checks: JSON when JSON was asked for, Python that parses when Python was asked for."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from router.verify._compose import Check
from router.verify._context import VerifyContext
from router.verify._text import Fence, fences
from router.verify._verdict import Verdict, failed, passed

_JSON_KINDS = frozenset({"json_object", "json_schema"})
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
_CODE_TASKS = frozenset({"code", "python"})
_ASKS_PYTHON = re.compile(r"\bpython\b|^\s*(?:def|class|import|from \w+ import)\b", re.I | re.M)


def valid_json() -> Check:
    """When `response_format` asks for JSON (`json_object` or `json_schema`), the answer must
    parse (a ```json fence is stripped); `json_object` needs an object, and `json_schema`'s
    schema must validate (with `jsonschema`). Passes when no JSON was asked for."""
    return Check("valid_json", _valid_json, prose=True)


def python_parses() -> Check:
    """For code tasks (`task` "code"/"python", or a prompt that asks for Python), every
    ```python block must `ast.parse`; unlabelled blocks too when Python was asked for, and the
    whole answer when it has no fences at all. Passes for other tasks."""
    return Check("python_parses", _python_parses, prose=True)


# -- JSON ----------------------------------------------------------------------------------------


def _valid_json(ctx: VerifyContext) -> Verdict:
    fmt = ctx.response_format or {}
    kind = fmt.get("type")
    if kind not in _JSON_KINDS:
        return passed("no JSON asked for")
    try:
        value = json.loads(_json_text(ctx.answer.text))
    except json.JSONDecodeError as exc:
        return failed(f"not valid JSON (line {exc.lineno}, column {exc.colno})")
    schema = _schema(fmt)
    if schema is not None:
        return _check_schema(value, schema)
    if kind == "json_object" and not isinstance(value, dict):
        return failed(f"JSON is a {type(value).__name__}, not an object")
    return passed("valid JSON")


def _json_text(text: str) -> str:
    blocks = [f for f in fences(text) if f.language in ("json", "")]
    return blocks[0].body if blocks else text.strip()


def _schema(fmt: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of an OpenAI-style `{"type": "json_schema", "json_schema": {"schema": ...}}`."""
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else fmt.get("schema")
    return schema if isinstance(schema, Mapping) else None


def _check_schema(value: object, schema: Mapping[str, Any]) -> Verdict:
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415  (only when a schema is asked)

    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)  # a bad schema: the verifier fails to run
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(value))
    if error is None:
        return passed("matches the schema")
    # The keyword and path only: the error's message would quote the answer.
    return failed(f"schema mismatch: {error.validator} at {error.json_path}")


# -- Python --------------------------------------------------------------------------------------


def _python_parses(ctx: VerifyContext) -> Verdict:
    wants_python = ctx.task == "python" or bool(_ASKS_PYTHON.search(ctx.question))
    if not (wants_python or ctx.task in _CODE_TASKS):
        return passed("not a code task")
    sources = _python_sources(ctx.answer.text, wants_python)
    for index, source in enumerate(sources, start=1):
        problem = _parse_problem(source)
        if problem:
            return failed(f"python block {index} of {len(sources)} {problem}")
    if not sources:
        return passed("no python code to check")
    return passed(f"{len(sources)} python block(s) parse")


def _python_sources(text: str, wants_python: bool) -> list[str]:
    blocks = fences(text)
    if not blocks:
        return [text] if wants_python else []
    return [b.body for b in blocks if _is_python(b, wants_python)]


def _is_python(block: Fence, wants_python: bool) -> bool:
    return block.language in _PYTHON_TAGS or (wants_python and block.language == "")


def _parse_problem(source: str) -> str:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return f"does not parse (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"does not parse ({type(exc).__name__})"
    return ""
