"""Row 13, continued: a bad `extends:` is an error naming the file and line, never a fallback.

`extends: /etc/passwd`, or a base whose YAML is a list, printed `ok` and fell back to the
defaults: the base's content was silently dropped when it was not a mapping. Now the base must
be a shipped policy or a `.yaml`/`.yml` file holding a mapping of policy keys; anything else is
refused by `Router()`, `load_policy()` and `router policy check` alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.errors import PolicyError
from router.policy import load_policy
from tests.reliability._figures import record

BASES = {
    "/etc/passwd": None,  # an absolute path to a file that is no policy
    "../../../../../../etc/hostname": None,  # a relative path out of the policy folder
    "list.yaml": "- default\n- cost-saver\n",
    "text.yaml": "just some text\n",
    "missing.yaml": None,
}
LISTED = "extends:\n  - default\n  - cost-saver\n"  # a YAML list as the value itself


@pytest.mark.parametrize("base", [*BASES, "a YAML list value"])
def test_a_bad_extends_is_an_error_naming_the_file_and_line(tmp_path: Path, base: str) -> None:
    content = BASES.get(base)
    if content is not None:
        (tmp_path / base).write_text(content, encoding="utf-8")
    path = tmp_path / "team.yaml"
    head = LISTED if base == "a YAML list value" else f"extends: {base}\n"
    path.write_text("name: team\n" + head + "routing:\n  rule: token-count\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    ok = result.exit_code == 2 and "team.yaml:2: extends:" in result.output
    record(13, f"policy check: extends {base}", f"exit {result.exit_code}", "exit 2, file:line", ok)
    assert ok, result.output
    with pytest.raises(PolicyError, match=r"team\.yaml:2: extends:"):
        load_policy(path)


def test_a_good_extends_still_works(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text("extends: cost-saver\nname: base\n", encoding="utf-8")
    path = tmp_path / "team.yaml"
    path.write_text("extends: base.yml\nname: team\n", encoding="utf-8")
    assert load_policy(path).name == "team"
