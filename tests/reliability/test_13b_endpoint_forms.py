"""Row 13, continued: every spelling of a link-local or metadata address, every problem.

`http://[::ffff:169.254.169.254]/v1` passed `policy check`, and such an address does connect
to the IPv4 host it embeds. Only the first endpoint problem of a file was reported. Now an IPv6
address is checked for the IPv4 address it carries (IPv4-mapped, IPv4-compatible, 6to4,
Teredo, NAT64), besides decimal, octal and hex IPv4 forms, and every problem is reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.errors import PolicyError
from router.policy import load_policy
from router.policy._endpoints import endpoint_problem
from tests.reliability._figures import record

FORMS = {
    "IPv4-mapped IPv6": "http://[::ffff:169.254.169.254]/v1",
    "IPv4-mapped IPv6, hex": "http://[::ffff:a9fe:a9fe]/v1",
    "IPv4-mapped IPv6, expanded": "http://[0:0:0:0:0:ffff:a9fe:a9fe]/v1",
    "IPv4-compatible IPv6": "http://[::169.254.169.254]/v1",
    "6to4": "http://[2002:a9fe:a9fe::1]/v1",
    "NAT64": "http://[64:ff9b::a9fe:a9fe]/v1",
    "Teredo": "http://[2001:0:4136:e378:8000:63bf:5601:5601]/v1",
    "IPv6 link-local with a zone": "http://[fe80::1%25eth0]:11434",
    "decimal IPv4": "http://2852039166/v1",
    "octal IPv4": "http://0251.0376.0251.0376/v1",
    "hex IPv4": "http://0xa9.0xfe.0xa9.0xfe/v1",
    "hex IPv4, one number": "http://0xa9fea9fe/v1",
    "two-part IPv4": "http://169.254.43518/v1",
    "Alibaba metadata, IPv4-mapped": "http://[::ffff:100.100.100.200]/v1",
    "metadata host, trailing dot, upper case": "http://METADATA.GOOGLE.INTERNAL./v1",
}
ALLOWED = (
    "https://api.openai.com/v1",
    "http://127.0.0.1:8000/v1",
    "http://[::1]:11434",
    "http://[::ffff:127.0.0.1]:8000",
    "http://10.1.2.3/v1",
    "http://[2001:db8::1]/v1",
)


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_a_link_local_address_is_refused(form: str) -> None:
    assert endpoint_problem(FORMS[form]) is not None, form


def test_ordinary_endpoints_are_still_allowed() -> None:
    assert [u for u in ALLOWED if endpoint_problem(u)] == []


def test_policy_check_reports_every_endpoint_problem_of_a_file(tmp_path: Path) -> None:
    models = "".join(
        f"    - model: gpt-5.4-{i}\n      api_base: {url}\n"
        for i, url in enumerate(list(FORMS.values())[:3])
    )
    path = tmp_path / "p.yaml"
    path.write_text(
        "extends: default\nlocal:\n  host: http://[::ffff:169.254.169.254]:11434\n"
        f"frontier:\n  baseline: gpt-5.4-0\n  models:\n{models}",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    keys = ["local.host", *(f"frontier.models[{i}].api_base" for i in range(3))]
    reported = [k for k in keys if f"{k}:" in result.output]
    refused = sum(endpoint_problem(u) is not None for u in FORMS.values())
    ok = result.exit_code == 2 and reported == keys and refused == len(FORMS)
    record(
        13,
        "policy check: link-local / metadata endpoints in other spellings",
        f"{refused}/{len(FORMS)} forms refused; {len(reported)}/{len(keys)} problems of one "
        "file reported",
        f"{len(FORMS)}/{len(FORMS)}; every problem",
        ok,
    )
    assert ok, result.output
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert all(k in str(info.value) for k in keys), str(info.value)
