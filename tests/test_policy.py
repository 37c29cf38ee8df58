"""Policy files: validation with `file:line` problems, inheritance, overrides, CLI, docs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.cli import main
from router.errors import ConfigError, PolicyError
from router.policy import (
    Policy,
    check_policy_file,
    detect_task,
    explain_policy,
    load_policy,
    parse_policy,
    preferred_frontier,
    shipped_policy_names,
)
from router.policy._docs import render_reference, splice

ROOT = Path(__file__).resolve().parent.parent


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    return [str(p) for p in check_policy_file(path)]


# -- every broken policy gives exact `file:line: key: message` lines -------------------------

BROKEN = {
    "unknown_key": (
        """
        name: x
        routing:
          threshhold: 0.7
        """,
        ["3: routing.threshhold: unknown key; did you mean 'threshold'?"],
    ),
    "unknown_key_no_match": (
        """
        limits:
          zzz: 1
        """,
        [
            "2: limits.zzz: unknown key; valid keys: allow_link_local_endpoints, "
            "max_output_tokens, max_prompt_chars, max_prompt_tokens"
        ],
    ),
    "bad_type": (
        """
        retries:
          max_attempts: many
        """,
        ["2: retries.max_attempts: must be a whole number (got 'many'); write digits only, e.g. 3"],
    ),
    "bad_mapping": (
        """
        routing: fast
        """,
        ["1: routing: must be a mapping of keys to values (got 'fast'); indent its keys under it"],
    ),
    "threshold_out_of_range": (
        """
        routing:
          rule: classifier
          threshold: 1.5
        """,
        ["3: routing.threshold: out of range (got 1.5); use a value between 0 and 1"],
    ),
    "target_out_of_range": (
        """
        routing:
          target_frontier_share: -0.1
        """,
        ["2: routing.target_frontier_share: out of range (got -0.1); use a value between 0 and 1"],
    ),
    "timeout_out_of_range": (
        """
        local:
          read_timeout_s: 0
        """,
        [
            "2: local.read_timeout_s: out of range (got 0); "
            "use a value greater than 0 and at most 3600"
        ],
    ),
    "threshold_and_target": (
        """
        routing:
          threshold: 0.6
          target_frontier_share: 0.2
        """,
        [
            "3: routing.target_frontier_share: set either threshold or target_frontier_share, "
            "not both; remove one of them"
        ],
    ),
    "bad_literal": (
        """
        routing:
          rule: clasifier
        """,
        [
            "2: routing.rule: must be one of classifier, token-count (got 'clasifier'); "
            "did you mean 'classifier'?"
        ],
    ),
    "unknown_model": (
        """
        frontier:
          models:
            - model: gpt-5.4
            - model: acme/unheard-of-model-v9
        """,
        [
            "4: frontier.models[1].model: unknown model: litellm-1.110.2 has no price for "
            "'acme/unheard-of-model-v9'; add it under prices: with input_per_mtok and "
            "output_per_mtok"
        ],
    ),
    "baseline_unpriced": (
        """
        frontier:
          baseline: in-house-model-nobody-prices
        """,
        [
            "2: frontier.baseline: baseline 'in-house-model-nobody-prices' has no price, so "
            "savings cannot be computed; name a priced model or add "
            "'in-house-model-nobody-prices' under prices:"
        ],
    ),
    "local_only_names_frontier": (
        """
        privacy:
          local_only: true
        frontier:
          models:
            - model: gpt-5.4
        """,
        [
            "5: frontier.models[0].model: privacy.local_only is true, so the policy must not "
            "name frontier models (gpt-5.4); set `frontier: {models: []}` or turn local_only off"
        ],
    ),
    "local_only_with_default_models": (
        """
        name: strict
        privacy:
          local_only: true
        """,
        [
            "3: privacy.local_only: privacy.local_only is true, so the policy must not name "
            "frontier models (gpt-5.4, anthropic/claude-opus-4-6); set `frontier: {models: []}` "
            "or turn local_only off"
        ],
    ),
    "no_frontier_models": (
        """
        frontier:
          models: []
        """,
        [
            "2: frontier.models: no frontier models; list at least one, or set "
            "privacy.local_only: true"
        ],
    ),
    "rule_model_not_listed": (
        """
        frontier:
          models:
            - model: gpt-5.4
          rules:
            - task: code
              model: anthropic/claude-opus-4-6
        """,
        [
            "6: frontier.rules[0].model: rule for code names 'anthropic/claude-opus-4-6', which "
            "is not in frontier.models (listed: gpt-5.4); add it to frontier.models or fix the "
            "name"
        ],
    ),
    "rule_bad_task": (
        """
        frontier:
          rules:
            - {task: poetry, model: gpt-5.4}
        """,
        [
            "3: frontier.rules[0].task: must be one of code, math, other (got 'poetry'); "
            "use one of those"
        ],
    ),
    "missing_model": (
        """
        frontier:
          models:
            - api_key_env: OPENAI_KEY
        """,
        ["3: frontier.models[0].model: required key is missing; add it"],
    ),
    "unknown_verifier": (
        """
        verify:
          structural: {}
          self_consistancy: {samples: 3}
        """,
        [
            "3: verify.self_consistancy: unknown name; did you mean 'self_consistency'?",
        ],
    ),
    "pii": (
        """
        privacy:
          pii:
            emial: redact
            ssn: drop
        """,
        [
            "3: privacy.pii.emial: unknown key; did you mean 'email'?",
            "4: privacy.pii.ssn: must be one of allow, redact, keep_local, refuse (got 'drop'); "
            "use one of those",
        ],
    ),
    "secret_not_echoed": (
        """
        frontier:
          models:
            - model: gpt-5.4
              api_key: [sk-proj-should-never-be-printed]
        """,
        ["4: frontier.models[0].api_key: must be text; write a plain or quoted string"],
    ),
    "yaml_syntax": (
        """
        name: x
        routing:
          threshold: [0.5
        """,
        [
            "4: (yaml): not valid YAML: expected ',' or ']', but got '<stream end>'; "
            "check indentation and quoting"
        ],
    ),
    "duplicate_key": (
        """
        routing:
          threshold: 0.5
          threshold: 0.6
        """,
        ["3: routing.threshold: duplicate key (first on line 2); keep only one"],
    ),
    "not_a_mapping": (
        """
        - just
        - a list
        """,
        [
            "1: (top level): a policy must be a mapping of keys to values; "
            "start with e.g. `name: my-policy`"
        ],
    ),
    "bad_extends_name": (
        """
        extends: defualt
        """,
        [
            "1: extends: no shipped policy named 'defualt' (did you mean 'default'?); "
            "for a file, write a path like defualt.yaml"
        ],
    ),
    "bad_extends_name_with_newline": (
        """
        extends: "0\\n\\n  "
        """,
        [
            "1: extends: no shipped policy named '0\\n\\n  ' (shipped: cost-saver, default, "
            "privacy-strict, quality-first); for a file, write a path like 0.yaml"
        ],
    ),
    "bad_extends_type": (
        """
        name: x
        extends: [default]
        """,
        [
            "2: extends: must name a shipped policy (e.g. default) or a path like base.yaml; "
            "fix the value"
        ],
    ),
    "team_override": (
        """
        teams:
          support:
            routing:
              treshold: 0.7
          ops:
            name: ops
          legal:
            privacy: {local_only: true}
          bad: 3
        """,
        [
            "4: teams.support.routing.treshold: unknown key; did you mean 'threshold'?",
            "6: teams.ops.name: an override cannot set 'name'; set it at the top of the policy "
            "instead",
            "8: teams.legal.privacy.local_only: privacy.local_only is true, so the policy must "
            "not name frontier models (gpt-5.4, anthropic/claude-opus-4-6); set "
            "`frontier: {models: []}` or turn local_only off",
            "9: teams.bad: must be a partial policy (a mapping), e.g. `routing: {threshold: 0.7}`",
        ],
    ),
    "team_and_app_conflict": (
        """
        teams:
          legal:
            privacy: {local_only: true}
            frontier: {models: []}
        apps:
          bot:
            frontier:
              models: [{model: gpt-5.4}]
        """,
        [
            "8: apps.bot.frontier.models[0].model: privacy.local_only is true, so the policy "
            "must not name frontier models (gpt-5.4); set `frontier: {models: []}` or turn "
            "local_only off (when combined with team 'legal')"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_policy_reports_exact_lines(tmp_path, case):
    text, expected = BROKEN[case]
    path = write(tmp_path, f"{case}.yaml", text)
    assert problems(path) == [f"{path}:{line}" for line in expected]


def test_team_override_line_points_at_the_key(tmp_path):
    path = write(
        tmp_path,
        "p.yaml",
        """
        teams:
          support:
            routing:
              treshold: 0.7
        """,
    )
    assert problems(path)[0].startswith(f"{path}:4: teams.support.routing.treshold:")


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        "many.yaml",
        """
        name: many
        routing:
          threshhold: 0.7
          rule: clasifier
        retries:
          max_attempts: 0
        frontier:
          models:
            - model: made-up-model
        """,
    )
    lines = problems(path)
    assert [line.split(": ")[0] for line in lines] == [
        f"{path}:3",
        f"{path}:4",
        f"{path}:6",
        f"{path}:9",
    ]
    assert "out of range (got 0); use a value between 1 and 10" in lines[2]


def test_prices_entry_makes_an_unknown_model_known(tmp_path):
    path = write(
        tmp_path,
        "priced.yaml",
        """
        frontier:
          models:
            - model: acme/unheard-of-model-v9
          baseline: acme/unheard-of-model-v9
        prices:
          acme/unheard-of-model-v9: {input_per_mtok: 1.5, output_per_mtok: 6}
        """,
    )
    assert problems(path) == []


def test_problems_in_a_base_file_point_into_the_base(tmp_path):
    write(tmp_path, "base.yaml", "routing:\n  threshold: 2\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    assert problems(child) == [
        f"{tmp_path / 'base.yaml'}:2: routing.threshold: out of range (got 2); "
        "use a value between 0 and 1"
    ]


def test_extends_missing_file(tmp_path):
    child = write(tmp_path, "child.yaml", "extends: ../nowhere/base.yaml\n")
    missing = (tmp_path / ".." / "nowhere" / "base.yaml").resolve()
    assert problems(child) == [
        f"{child}:1: extends: no such file '{missing}' (paths are relative to this file); "
        "fix the path"
    ]


def test_inheritance_cycle(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "name: b\nextends: ./a.yaml\n")
    assert problems(a) == [
        f"{b}:2: extends: inheritance cycle ({a} -> {b} -> {a}); remove one of the extends"
    ]


def test_self_extension_is_a_cycle(tmp_path):
    path = write(tmp_path, "self.yaml", "extends: self.yaml\n")
    assert problems(path) == [
        f"{path}:1: extends: inheritance cycle ({path} -> {path}); remove one of the extends"
    ]


def test_missing_file_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "nope.yaml"
    assert problems(path) == [f"{path}:1: (file): no such file; check the path"]


def test_load_policy_raises_policy_error_with_the_same_lines(tmp_path):
    path = write(tmp_path, "p.yaml", "routing:\n  threshhold: 0.7\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.problems == (
        f"{path}:2: routing.threshhold: unknown key; did you mean 'threshold'?",
    )
    assert isinstance(caught.value, ConfigError)


# -- shipped policies ---------------------------------------------------------------------------


def test_shipped_policies_are_the_four_documented_ones():
    assert shipped_policy_names() == ["cost-saver", "default", "privacy-strict", "quality-first"]


@pytest.mark.parametrize("name", ["cost-saver", "default", "privacy-strict", "quality-first"])
def test_each_shipped_policy_passes_router_policy_check(name):
    by_name = CliRunner().invoke(main, ["policy", "check", name])
    by_path = CliRunner().invoke(main, ["policy", "check", str(ROOT / "policies" / f"{name}.yaml")])
    policy = load_policy(name)
    assert by_name.exit_code == 0, by_name.output
    assert by_name.output == f"ok: {name} ({policy.name}, {policy.version})\n"
    assert by_path.exit_code == 0, by_path.output


def test_shipped_policies_say_what_they_promise():
    saver, quality, strict = (
        load_policy(n) for n in ("cost-saver", "quality-first", "privacy-strict")
    )
    default = load_policy()
    assert saver.routing.threshold > default.routing.threshold > quality.routing.threshold
    assert preferred_frontier(quality, "```python\nprint(1)\n```")[0] == "anthropic/claude-opus-4-6"
    assert strict.privacy.local_only and strict.frontier.models == ()
    assert strict.privacy.pii.secret == "refuse"
    assert preferred_frontier(strict, "def f(): pass") == ()


def test_shipped_policies_comment_every_choice():
    for name in shipped_policy_names():
        text = (ROOT / "policies" / f"{name}.yaml").read_text()
        assert text.count("#") >= 8, name


def test_check_exits_2_and_prints_every_problem(tmp_path):
    bad = write(tmp_path, "bad.yaml", "routing:\n  threshold: 3\nretries:\n  max_attempts: 0\n")
    result = CliRunner().invoke(main, ["policy", "check", "default", str(bad)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "ok: default (default, 1)",
        f"{bad}:2: routing.threshold: out of range (got 3); use a value between 0 and 1",
        f"{bad}:4: retries.max_attempts: out of range (got 0); use a value between 1 and 10",
    ]


# -- inheritance and overrides ----------------------------------------------------------------


def test_child_deep_merges_over_its_base(tmp_path):
    path = write(
        tmp_path,
        "child.yaml",
        """
        extends: cost-saver
        name: child
        privacy:
          pii: {email: keep_local}
        """,
    )
    policy = load_policy(path)
    assert policy.routing.threshold == 0.7  # from cost-saver
    assert policy.retries.max_attempts == 2  # from cost-saver
    assert policy.local.context_tokens == 262144  # from default
    assert policy.privacy.pii.email == "keep_local"  # this file
    assert policy.privacy.pii.phone == "redact"  # default's, kept by the merge
    assert policy.extends == "cost-saver"


def test_target_share_in_a_child_replaces_the_inherited_threshold(tmp_path):
    path = write(tmp_path, "t.yaml", "extends: default\nrouting: {target_frontier_share: 0.2}\n")
    policy = load_policy(path)
    assert policy.routing.target_frontier_share == 0.2
    assert "threshold" not in policy.routing.model_fields_set


def test_relative_extends_chain(tmp_path):
    (tmp_path / "org").mkdir()
    write(
        tmp_path / "org",
        "base.yaml",
        "extends: quality-first\nname: org\nlimits: {max_output_tokens: 1000}\n",
    )
    team = write(tmp_path, "team.yaml", "extends: org/base.yaml\nname: team\n")
    policy = load_policy(team)
    assert (policy.name, policy.limits.max_output_tokens, policy.routing.threshold) == (
        "team",
        1000,
        0.3,
    )


OVERRIDES = """
name: platform
routing:
  threshold: 0.5
teams:
  support:
    routing: {threshold: 0.7}
    privacy: {pii: {email: keep_local}}
  legal:
    privacy: {local_only: true}
    frontier: {models: []}
apps:
  bot:
    routing: {target_frontier_share: 0.1}
  coder:
    limits: {max_output_tokens: 16000}
"""


def test_for_request_applies_team_then_app_and_caches():
    policy = parse_policy(OVERRIDES)
    support = policy.for_request("support", None)
    assert support.routing.threshold == 0.7
    assert support.privacy.pii.email == "keep_local"
    assert support.teams == {} and support.apps == {}
    assert policy.for_request("support", None) is support
    both = policy.for_request("support", "bot")
    assert both.routing.target_frontier_share == 0.1  # the app's target replaces the threshold
    assert both.privacy.pii.email == "keep_local"
    legal = policy.for_request("legal", "coder")
    assert legal.privacy.local_only is True and legal.frontier.models == ()
    assert policy.for_request("legal", "coder") is legal


def test_for_request_without_a_matching_override_is_the_base():
    policy = parse_policy(OVERRIDES)
    plain = policy.for_request(None, None)
    assert plain.routing.threshold == 0.5 and plain.teams == {}
    assert policy.for_request("unknown-team", "unknown-app") is plain
    no_overrides = load_policy()
    assert no_overrides.for_request("x", "y") is no_overrides


def test_overrides_are_validated_when_a_policy_is_built_in_code():
    with pytest.raises(ValueError, match="teams"):
        Policy(teams={"support": {"routing": {"threshold": 7}}})


def test_existing_fields_keep_their_defaults():
    policy = Policy()
    assert policy.routing.threshold == 0.5
    assert policy.routing.rule == "classifier"
    assert [m.model for m in policy.frontier.models] == ["gpt-5.4", "anthropic/claude-opus-4-6"]
    assert policy.frontier.baseline == "gpt-5.4"
    assert policy.privacy.local_only is False and policy.privacy.capture_content is False
    assert policy.retries.max_attempts == 3 and policy.retries.deadline_s == 180.0
    assert policy.prices == {} and policy.local_cost.per_mtok_usd == 0
    assert policy.verify == {} and policy.frontier.rules == ()


def test_version_may_be_written_as_a_number():
    assert parse_policy("version: 2").version == "2"


# -- explain --------------------------------------------------------------------------------------


def test_explain_shows_the_effective_policy_with_secrets_masked(tmp_path):
    path = write(
        tmp_path,
        "team.yaml",
        """
        extends: quality-first
        name: team
        frontier:
          models:
            - model: gpt-5.4
              api_key: sk-proj-abcdefghijklmnopqrstuvwxyz0123456789
              api_base: https://svc:hunter2@proxy.internal/v1
          rules: []
        ledger:
          url: postgresql://router:s3cret@db.internal/ledger
        teams:
          support:
            routing: {threshold: 0.8}
        """,
    )
    text = explain_policy(path, team="support")
    assert "sk-proj" not in text and "hunter2" not in text and "s3cret" not in text
    assert text.startswith(
        "# Effective policy 'team', version 1\n"
        f"# from default.yaml, then quality-first.yaml, then {path} (later files win)\n"
        "# with the team override teams.support applied\n"
        "# secrets are masked\n"
    )
    data = yaml.safe_load(text)
    assert data["routing"]["threshold"] == 0.8
    assert data["frontier"]["models"][0]["api_key"] == "**********"
    assert data["frontier"]["models"][0]["api_base"] == "https://svc:**********@proxy.internal/v1"
    assert data["ledger"]["url"] == "postgresql://router:**********@db.internal/ledger"
    assert data["verify"] == {
        "structural": {},
        "valid_json": {},
        "python_parses": {},
        "self_check": {},
        "posthoc_score": {"threshold": 0.5},
    }
    assert "teams" not in data and "extends" not in data


def test_explain_header_names_the_chain():
    text = explain_policy("cost-saver")
    assert text.splitlines()[:3] == [
        "# Effective policy 'cost-saver', version 1",
        "# from default.yaml, then cost-saver.yaml (later files win)",
        "# secrets are masked",
    ]
    assert yaml.safe_load(text)["routing"]["threshold"] == 0.7


def test_explain_round_trips_into_an_equal_policy():
    for name in shipped_policy_names():
        effective = yaml.safe_load(explain_policy(name))
        assert Policy.model_validate(effective) == load_policy(name).model_copy(
            update={"extends": None}
        )


def test_explain_cli(tmp_path):
    path = write(tmp_path, "p.yaml", OVERRIDES)
    ok = CliRunner().invoke(
        main, ["policy", "explain", str(path), "--team", "support", "--app", "bot"]
    )
    assert ok.exit_code == 0, ok.output
    assert "target_frontier_share: 0.1" in ok.output
    typo = CliRunner().invoke(main, ["policy", "explain", str(path), "--team", "suport"])
    assert typo.exit_code == 0, typo.output  # its requests get the base policy: say so
    assert (
        "# team 'suport' has no override here, so its requests get the base policy "
        "(did you mean 'support'?)\n"
    ) in typo.output
    bad = write(tmp_path, "bad.yaml", "routing: {threshold: 9}\n")
    broken = CliRunner().invoke(main, ["policy", "explain", str(bad)])
    assert broken.exit_code == 2
    assert f"{bad}:1: routing.threshold: out of range" in broken.output


def test_explain_a_team_without_an_override_shows_the_base_policy_it_gets():
    """The README's own example: the shipped default policy has no team overrides at all."""
    result = CliRunner().invoke(
        main, ["policy", "explain", str(ROOT / "policies" / "default.yaml"), "--team", "support"]
    )
    assert result.exit_code == 0, result.output
    header, body = result.output.split("# secrets are masked\n")
    assert "# team 'support' has no override here, so its requests get the base policy\n" in header
    assert body == explain_policy(ROOT / "policies" / "default.yaml").split("masked\n")[1]
    both = explain_policy("default", team="support", app="triage")
    assert "# app 'triage' has no override here" in both


# -- per-task rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "task"),
    [
        ("```python\nprint('hi')\n```", "code"),
        ("def add(a, b):\n    return a + b\nwhy does this fail?", "code"),
        ("Write a function that reverses a linked list", "code"),
        ("Traceback (most recent call last):\n  File 'x.py'", "code"),
        ("Solve for x: 3x + 4 = 19", "math"),
        ("What is \\frac{1}{2} + \\frac{1}{3}?", "math"),
        ("12 * 47 = ?", "math"),
        ("Prove that the square root of 2 is irrational", "math"),
        ("Write a haiku about autumn leaves", "other"),
        ("What is the capital of France?", "other"),
    ],
)
def test_detect_task(prompt, task):
    assert detect_task(prompt) == task


def test_preferred_frontier_puts_rule_models_first_then_the_rest():
    policy = load_policy("quality-first")
    assert preferred_frontier(policy, "Solve x^2 = 4") == ("gpt-5.4", "anthropic/claude-opus-4-6")
    assert preferred_frontier(policy, "def f(): pass") == ("anthropic/claude-opus-4-6", "gpt-5.4")
    assert preferred_frontier(policy, "Tell me a story") == ("anthropic/claude-opus-4-6", "gpt-5.4")
    assert preferred_frontier(load_policy(), "def f(): pass") == (
        "gpt-5.4",
        "anthropic/claude-opus-4-6",
    )


# -- robustness -------------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "name",
        "version",
        "extends",
        "routing",
        "threshold",
        "frontier",
        "models",
        "model",
        "privacy",
        "local_only",
        "pii",
        "email",
        "teams",
        "apps",
        "verify",
        "prices",
        "<<",
        "x",
    ]
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=8)
)


def _containers(inner):
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4))


_VALUES = st.recursive(_SCALARS, _containers, max_leaves=12)
_FRAGMENTS = st.lists(
    st.sampled_from(
        [
            "a: 1",
            "routing:",
            "  threshold: 2",
            "- x",
            "&a {x: *a}",
            "extends: default",
            "extends: self.yaml",
            "teams:",
            "  t: {routing: {threshold: 0.9}}",
            "? [a]\n: b",
            "!!binary x",
            "key: 'unterminated",
            "\t",
            ":",
            "---",
            "*nope",
            "<<: {name: m}",
            "verify: {bogus: 1}",
        ]
    ),
    max_size=6,
)


@pytest.mark.slow  # 150 hypothesis examples writing files
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_VALUES, fragments=_FRAGMENTS, noise=st.text(max_size=30))
def test_loader_raises_only_policy_error(tmp_path, data, fragments, noise):
    for text in (
        yaml.safe_dump({"policy": data}),
        yaml.safe_dump(data),
        "\n".join(fragments),
        noise,
    ):
        path = tmp_path / "self.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_policy(path)
        except PolicyError as exc:
            assert exc.problems and all(
                line.startswith(str(path)) or "yaml" in line for line in exc.problems
            )
        assert all(isinstance(p.line, int) and p.line >= 1 for p in check_policy_file(path))


# -- docs -----------------------------------------------------------------------------------


def test_policies_doc_reference_is_current():
    doc = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    assert splice(doc, render_reference()) == doc, "run: python scripts/gen_policy_docs.py"


def test_reference_documents_every_field():
    reference = render_reference()
    for section in ("`frontier.rules[]`", "`privacy.pii`", "`routing`", "`prices.<name>`"):
        assert f"### {section}" in reference
    for key in ("target_frontier_share", "verify_budget_s", "teams", "extends", "secret"):
        assert f"| `{key}` |" in reference


def test_a_copied_policy_merges_its_overrides_afresh():
    base = Policy.model_validate(
        {"routing": {"threshold": 0.5}, "teams": {"ml": {"routing": {"token_count_threshold": 9}}}}
    )
    assert base.for_request("ml").routing.threshold == 0.5  # fills the original's cache
    copy = base.model_copy(update={"routing": base.routing.model_copy(update={"threshold": 0.9})})
    assert copy.for_request("ml").routing.threshold == 0.9
    assert base.for_request("ml").routing.threshold == 0.5


def test_a_key_with_line_breaks_is_quoted_so_the_problem_stays_on_one_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("? '\n\n  '\n: null\n")
    [problem] = [str(p) for p in check_policy_file(path)]
    assert re.fullmatch(r"[^:\n]+:\d+: '\\n': unknown key; valid keys: .+", problem), problem
