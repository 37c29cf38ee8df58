"""Row 15, supply chain: the venv matches the hash-locked requirements.lock, with no stray `.pth`.

Runs scripts/check_site_packages.py on this interpreter's site-packages (what .ci/run does right
after installing), and shows the script catches each thing it is there to catch.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability._figures import record

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_site_packages.py"
LOCK = ROOT / "requirements.lock"
SUMMARY = re.compile(r"lock problems: (\d+), unexpected \.pth: (\d+), drift: (\d+)")


def check(*args: str) -> tuple[int, str, tuple[int, int, int]]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )
    match = SUMMARY.search(proc.stdout)
    assert match, proc.stdout + proc.stderr
    lock, pth, drift = (int(g) for g in match.groups())
    return proc.returncode, proc.stdout, (lock, pth, drift)


def fake_site(tmp_path: Path, pins: dict[str, str], *pth: str) -> Path:
    site = tmp_path / "site-packages"
    for name, version in pins.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for name in pth:
        (site / name).write_text("import os\n")
    return site


def lock_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text(text)
    return path


HASH = "    --hash=sha256:" + "0" * 64


def test_this_venv_matches_the_lock_with_no_unexpected_pth() -> None:
    code, out, (lock, pth, drift) = check()
    record(15, "unexpected .pth files in site-packages", str(pth), "0", pth == 0)
    record(15, "installed versions drifting from requirements.lock", str(drift), "0", drift == 0)
    record(
        15,
        "problems in requirements.lock (unhashed, compromised litellm)",
        str(lock),
        "0",
        lock == 0,
    )
    assert (code, lock, pth, drift) == (0, 0, 0, 0), out


def test_the_lock_pins_every_package_with_hashes_and_the_vetted_litellm() -> None:
    text = LOCK.read_text()
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", text, flags=re.M)
    assert len(pins) > 100
    assert ("litellm", "1.110.2") in pins
    for name in ("pip", "setuptools", "wheel", "mkdocs", "fastapi"):
        assert name in dict(pins), name
    blocks = re.split(r"^(?=[A-Za-z])", text, flags=re.M)
    assert all("--hash=sha256:" in b for b in blocks if re.match(r"[A-Za-z].*==", b))


@pytest.mark.parametrize("version", ["1.82.7", "1.82.8", "1.107.0", "1.107.3", "1.109.0"])
def test_a_compromised_or_unvetted_litellm_cannot_be_locked(tmp_path: Path, version: str) -> None:
    lock = lock_file(tmp_path, f"litellm=={version} \\\n{HASH}\n")
    site = fake_site(tmp_path, {"litellm": version})
    code, out, (problems, _, _) = check("--lock", str(lock), "--site-packages", str(site))
    assert code == 1 and problems == 1
    assert f"litellm=={version}" in out


def test_an_unexpected_pth_file_fails(tmp_path: Path) -> None:
    lock = lock_file(tmp_path, f"litellm==1.110.2 \\\n{HASH}\n")
    allowed = ("distutils-precedence.pth", "__editable__.cost_router-0.1.0.pth")
    site = fake_site(tmp_path, {"litellm": "1.110.2"}, *allowed, "litellm_init.pth")
    code, out, (_, pth, _) = check("--lock", str(lock), "--site-packages", str(site))
    assert (code, pth) == (1, 1)
    assert "litellm_init.pth" in out


def test_drift_and_unhashed_pins_fail(tmp_path: Path) -> None:
    lock = lock_file(
        tmp_path, f"litellm==1.110.2 \\\n{HASH}\nrequests==2.0.0 \\\n{HASH}\nidna==3.20\n"
    )
    site = fake_site(tmp_path, {"litellm": "1.110.2", "requests": "2.1.0", "evil": "1.0"})
    code, out, (lock_problems, _, drift) = check("--lock", str(lock), "--site-packages", str(site))
    assert code == 1
    assert lock_problems == 1 and "idna has no --hash" in out
    assert drift == 3  # requests differs, evil is not locked, idna is not installed
