"""One validator: `router policy check`, `load_policy` and `Router(...)` find the same problems."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from router import Router
from router.cli import main
from router.errors import PolicyError
from router.policy import check_policy, load_policy, parse_policy

BAD = """\
name: bad
routing:
  threshold: 1.5
retries:
  max_attempts: 0
frontier:
  models:
    - model: gpt-5.5-turbo
  baseline: gpt-5.4
local:
  modle: x
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_loading_reports_exactly_what_policy_check_reports(tmp_path):
    path = _write(tmp_path, "bad.yaml", BAD)
    checked = [str(p) for p in check_policy(path).problems]
    assert len(checked) == 4
    assert any("unknown model" in line and "'gpt-5.5-turbo'" in line for line in checked)
    with pytest.raises(PolicyError) as loaded:
        load_policy(path)
    assert list(loaded.value.problems) == checked
    with pytest.raises(PolicyError) as routed:
        Router(path, ledger=None, classifier=None)
    assert list(routed.value.problems) == checked


def test_an_unpriced_model_in_a_team_override_fails_the_load_too(tmp_path):
    path = _write(
        tmp_path,
        "team.yaml",
        """\
        teams:
          support:
            frontier:
              models: [{model: gpt-5.5-turbo}]
        """,
    )
    (problem,) = check_policy(path).problems
    assert problem.key == "teams.support.frontier.models[0].model"
    with pytest.raises(PolicyError) as loaded:
        load_policy(path)
    assert loaded.value.problems == (str(problem),)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_an_empty_policy_file_is_a_problem(tmp_path, text):
    path = _write(tmp_path, "empty.yaml", text)
    (problem,) = check_policy(path).problems
    assert str(problem).startswith(f"{path}:1: (file): the file is empty")
    assert "extends: default" in problem.message  # how to fix it
    with pytest.raises(PolicyError, match="the file is empty"):
        load_policy(path)
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert result.exit_code == 2 and "the file is empty" in result.output


def test_an_explicit_empty_mapping_still_means_every_default():
    assert parse_policy("{}") == parse_policy("name: default")
