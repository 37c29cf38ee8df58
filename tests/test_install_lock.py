"""The quick start installs exactly the locked files, whatever upstream publishes next (issue 16).

A local folder of decoy releases stands in for "upstream published something newer" without
waiting for upstream: a `.post9999` release of every locked package (newer than each pin and inside
every version range a dependent asks for), plus httpx 0.99.0 and 99.0.0. The README's own install
command, run in a fresh venv with the pip that venv brings and offered that folder with
`--find-links`, must still install exactly the locked versions. A decoy that carries a locked
version number but other bytes must fail the hash check.

Without `--no-deps`, the pip that Python 3.11 and 3.12 venvs bring (23.2.1) resolves litellm's
`httpx[http2]` to the newest httpx it can see and refuses the install ("must have their versions
pinned with =="): the first test fails the way the issue's user saw, whatever upstream has done.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow  # a full install from the lock: minutes; CI runs it

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
DECOY_MARK = "DECOY = True  # not the locked release\n"


def _check_site_packages() -> ModuleType:
    spec = importlib.util.spec_from_file_location("csp", ROOT / "scripts/check_site_packages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quickstart_steps() -> list[str]:
    """The README's first quick-start command, split into its `&&` steps."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("<!-- quickstart:begin") : readme.index("<!-- quickstart:end")]
    first = re.findall(r"^```bash\n(.*?)\n```$", block, flags=re.M | re.S)[0]
    return [step.strip() for step in first.split("&&")]


def step(mentioning: str) -> str:
    (found,) = [s for s in quickstart_steps() if mentioning in s]
    return found


def run(command: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    line = " ".join([command, *map(shlex.quote, extra)])
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def fresh_venv(where: Path) -> Path:
    """The README's `python3 -m venv .venv`, with this interpreter as `python3`."""
    venv_step = step("-m venv")
    assert venv_step.startswith("python3 ")
    proc = run(shlex.quote(sys.executable) + venv_step.removeprefix("python3"), where)
    assert proc.returncode == 0, proc.stderr
    return where / ".venv"


def stub_wheel(folder: Path, name: str, version: str, module: str | None = None) -> Path:
    """A minimal, valid wheel `name==version` whose only content says it is a decoy."""
    dist = re.sub(r"[-_.]+", "_", name)
    files = {
        f"{module or dist + '_decoy'}/__init__.py": DECOY_MARK,
        f"{dist}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ),
        f"{dist}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: decoy\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist}-{version}.dist-info/RECORD"] = (
        "\n".join([*record, f"{dist}-{version}.dist-info/RECORD,,"]) + "\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name_in_zip, text in files.items():
            wheel.writestr(name_in_zip, text)
    return path


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def lock_stanza(name: str) -> str:
    """The lines of requirements.lock that pin `name`, with all their hashes, verbatim."""
    text = LOCK.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(name)}==.*?(?=^\S)", text, flags=re.M | re.S)
    assert match, name
    return match.group(0)


def installed(venv: Path) -> dict[str, str]:
    proc = run(f"{venv}/bin/python -m pip list --format=json", venv.parent)
    assert proc.returncode == 0, proc.stderr
    normalise = _check_site_packages().normalise
    return {normalise(d["name"]): d["version"] for d in json.loads(proc.stdout)}


def locked_hashes() -> dict[str, set[str]]:
    """{normalised name: the sha256 of every file the lock allows for it}."""
    normalise = _check_site_packages().normalise
    text = LOCK.read_text(encoding="utf-8")
    stanzas = re.findall(r"^([A-Za-z0-9][\w.-]*)==\S+(.*?)(?=^\S|\Z)", text, flags=re.M | re.S)
    return {normalise(n): set(re.findall(r"--hash=sha256:(\w+)", body)) for n, body in stanzas}


def chosen(report: Path) -> dict[str, tuple[str, str]]:
    """{name: (version, sha256 of the file)} from a `pip install --dry-run --report` file."""
    normalise = _check_site_packages().normalise
    picks = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {
        normalise(p["metadata"]["name"]): (
            p["metadata"]["version"],
            p["download_info"]["archive_info"]["hashes"]["sha256"],
        )
        for p in picks
    }


def test_newer_releases_of_every_locked_package_change_nothing(tmp_path: Path) -> None:
    """What the install step picks (`--dry-run --report`: selection and hash checks, without
    unpacking ~110 wheels; CI's fresh-clone install and row 15 cover the real install)."""
    pins, problems = _check_site_packages().read_lock(LOCK)
    assert not problems
    decoys = tmp_path / "decoys"
    for name, version in pins.items():
        stub_wheel(decoys, name, version + ".post9999")
    for version in ("0.99.0", "99.0.0"):
        stub_wheel(decoys, "httpx", version, module="httpx")
    (tmp_path / "requirements.lock").symlink_to(LOCK)
    venv = fresh_venv(tmp_path)
    # Control: left free to choose what litellm asks for, this pip takes the decoy.
    free = tmp_path / "free.json"
    wanted = "httpx[http2]>=0.28.0,<1.0"
    pip = f"{venv}/bin/pip install --dry-run --no-deps --find-links {decoys}"
    proc = run(pip, tmp_path, "--report", str(free), wanted)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert chosen(free)["httpx"][0] == "0.99.0"

    report = tmp_path / "report.json"
    proc = run(
        step("requirements.lock"),
        tmp_path,
        *("--find-links", str(decoys), "--dry-run", "--report", str(report)),
    )

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    picked = chosen(report)
    assert {name: version for name, (version, _) in picked.items()} == pins
    allowed = locked_hashes()
    assert not {n: h for n, (_, h) in picked.items() if h not in allowed[n]}


def test_the_locked_version_with_other_bytes_fails_the_hash_check(tmp_path: Path) -> None:
    """Only the decoy is on offer (`--no-index`), so pip cannot quietly pick a good file."""
    version = _check_site_packages().read_lock(LOCK)[0]["httpx"]
    decoys = tmp_path / "decoys"
    stub_wheel(decoys, "httpx", version, module="httpx")
    (tmp_path / "requirements.lock").write_text(lock_stanza("httpx"), encoding="utf-8")
    venv = fresh_venv(tmp_path)

    proc = run(step("requirements.lock"), tmp_path, "--no-index", "--find-links", str(decoys))

    assert proc.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in proc.stderr, proc.stderr[-3000:]
    assert "httpx" not in installed(venv)


def test_a_same_version_decoy_next_to_the_index_is_never_installed(tmp_path: Path) -> None:
    """With the index also on offer pip may skip the decoy for the genuine file, or refuse the
    install; either way the decoy's bytes never land in the venv."""
    version = _check_site_packages().read_lock(LOCK)[0]["httpx"]
    decoys = tmp_path / "decoys"
    stub_wheel(decoys, "httpx", version, module="httpx")
    (tmp_path / "requirements.lock").write_text(lock_stanza("httpx"), encoding="utf-8")
    venv = fresh_venv(tmp_path)

    proc = run(step("requirements.lock"), tmp_path, "--find-links", str(decoys))

    site = next((venv / "lib").glob("python3*/site-packages"))
    init = site / "httpx" / "__init__.py"
    if proc.returncode == 0:
        assert installed(venv)["httpx"] == version
        assert DECOY_MARK not in init.read_text(encoding="utf-8")
    else:
        assert "THESE PACKAGES DO NOT MATCH THE HASHES" in proc.stderr, proc.stderr[-3000:]
        assert not init.exists()
