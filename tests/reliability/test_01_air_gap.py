"""Row 1: air gap: every DNS lookup fails; `import router`, then one local and one frontier request.

Figure: lookups of hosts not named in the policy: 0 (the policy names only 127.0.0.1). Runs in
a fresh interpreter so the lookups made while importing are counted too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability._figures import record

CLIENT = Path(__file__).with_name("_airgap_client.py")
POLICY_HOSTS = {"127.0.0.1"}
OFFLINE_SWITCHES = ("LITELLM_LOCAL_MODEL_COST_MAP", "TIKTOKEN_CACHE_DIR", "ROUTER_LEDGER_URL")


@pytest.mark.slow
def test_air_gapped_import_and_routing_look_up_no_host_outside_the_policy(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "PYTHONPATH": str(CLIENT.parents[2])}
    # As a user would run it: no offline switches from this test session, no proxies.
    for name in (*OFFLINE_SWITCHES, "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(CLIENT)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    outside = [h for h in result["lookups"] if h not in POLICY_HOSTS]

    assert result["tiers"] == ["local", "frontier"]
    assert result["litellm_on_import"] is False
    record(
        1,
        "air gap: lookups of hosts not in the policy",
        f"{len(outside)} (of {len(result['lookups'])} lookups)",
        "0",
        not outside,
    )
    assert outside == [], outside
