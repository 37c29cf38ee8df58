"""Property: any YAML-ish document either loads as a policy or yields `file:line: key: ...`.

Documents are built from the policy's real keys with values of every kind, dumped as YAML, and
then sometimes damaged (a cut, a tab, an alias, a tag, a stray bracket). `parse_policy` must
return a `Policy` or raise `PolicyError` whose every line is `file:line: key: message`; the
same text through `check_policy` (the `router policy check` path) must agree. Never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.errors import PolicyError
from router.policy import Policy, check_policy, parse_policy

PROBLEM = re.compile(r"^[^:\n]+:\d+: [^\n]+: [^\n]+$")
SECTIONS = {
    "local": ["model", "host", "read_timeout_s", "connect_timeout_s", "context_tokens"],
    "frontier": ["models", "baseline", "rules"],
    "routing": ["rule", "threshold", "token_count_threshold"],
    "retries": ["max_attempts", "backoff_initial_s", "backoff_max_s", "deadline_s"],
    "privacy": ["local_only", "detect_pii", "pii", "capture_content", "hash_users"],
    "limits": ["max_prompt_chars", "max_output_tokens"],
    "ledger": ["enabled", "url"],
    "teams": ["support", "legal"],
    "bogus": ["x"],
}
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["default", "cost-saver", "gpt-5.4", "redact", "keep_local", "1e3", "0x10"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def documents(draw: Any) -> Any:
    doc: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=5, unique=True)):
        keys = draw(st.lists(st.sampled_from(SECTIONS[section]), max_size=3, unique=True))
        doc[section] = {k: draw(values) for k in keys} if keys else draw(values)
    for key in draw(st.lists(st.sampled_from(["name", "extends", "version"]), unique=True)):
        doc[key] = draw(st.one_of(values, st.sampled_from(["default", "nope", "x.yaml"])))
    return draw(st.one_of(st.just(doc), values))


DAMAGE = ["", "\t", ": [", "&a x", "*nope", "!!python/object:os.system x", "}", "- - -", "'"]


@st.composite
def texts(draw: Any) -> str:
    text = yaml.safe_dump(draw(documents()), allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(DAMAGE)) + text[at:]
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


@pytest.mark.slow  # 300 hypothesis examples
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts())
def test_any_document_loads_or_reports_file_line_key(text: str, tmp_path_factory: Any) -> None:
    try:
        policy = parse_policy(text, origin="p.yaml")
    except PolicyError as exc:
        assert exc.problems, str(exc)
        for line in exc.problems:
            assert PROBLEM.match(line), line
        loaded = False
    else:
        assert isinstance(policy, Policy)
        loaded = True
    path = Path(tmp_path_factory.mktemp("p")) / "p.yaml"
    path.write_text(text, encoding="utf-8")
    check = check_policy(path)
    assert all(PROBLEM.match(str(p)) for p in check.problems), check.problems
    if not loaded:
        assert not check.ok  # what does not load is never reported as fine
