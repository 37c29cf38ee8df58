"""The wheel works on its own, outside the repo, with the network switched off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=out,
    )
    [built] = out.glob("cost_router-*.whl")
    return built


@pytest.mark.slow  # builds the wheel
def test_wheel_ships_policies_migrations_data_and_types(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "router/py.typed" in names
    assert "router/_policies/default.yaml" in names
    assert "router/_migrations/env.py" in names
    assert any(n.startswith("router/_migrations/versions/") for n in names)
    assert "router/data/demo/workload.jsonl.gz" in names
    assert "router/data/demo/NOTICE.md" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "router = router.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow  # builds and installs the wheel in a venv
def test_installed_wheel_routes_offline_outside_the_repo(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)  # a wheel install is an unzip; pip is not needed for that
    # Dependencies come from this environment; `router` itself must come from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TIKTOKEN", "LITELLM"))
    }
    out = subprocess.run(
        [python, str(REPO / "tests" / "scripts" / "airgap_client.py")],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["router_file"].startswith(str(site))
    assert result["litellm_on_import"] is False
    assert set(result["lookups"]) <= {"127.0.0.1", "localhost", "::1"}, result["lookups"]
    assert result["tiers"] == ["frontier", "local"]


def test_import_router_does_not_import_litellm_and_is_fast():
    code = (
        "import time, sys; t = time.perf_counter(); import router; "
        "print(time.perf_counter() - t, 'litellm' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True, cwd=REPO).split()
    assert out[1:] == ["False", "False"]
