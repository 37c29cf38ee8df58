"""Check a virtualenv against requirements.lock: no unexpected `.pth` files, no version drift.

A `.pth` file in site-packages runs code at every interpreter start (the litellm 1.82.7/1.82.8
compromise shipped one), so any `.pth` not on the allow-list fails. Every installed
distribution must be pinned in the lock at the installed version and every pin must be
installed (drift 0); every pin must carry a `--hash`, and no compromised litellm may be locked.

    .venv/bin/python scripts/check_site_packages.py [--lock requirements.lock] [--site-packages DIR]

Stdlib only: it must run before anything else is trusted. Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

ALLOWED_PTH = (
    "distutils-precedence.pth",  # setuptools: selects its bundled distutils
    "__editable__.cost_router-*.pth",  # this project's own editable install
    "__editable___cost_router_*finder*.pth",
)
OWN_DISTRIBUTIONS = frozenset({"cost-router"})  # installed from the repo, not from the lock
COMPROMISED_LITELLM = ("1.82.7", "1.82.8", "1.107.*")
VETTED_LITELLM = "1.110.2"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def normalise(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> tuple[dict[str, str], list[str]]:
    """The lock's pins {name: version}, and the problems of the lock itself."""
    pins: dict[str, str] = {}
    problems: list[str] = []
    current: str | None = None
    hashed: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if match:
            current = normalise(match.group(1))
            pins[current] = match.group(3)
        elif not line.startswith("--hash") and not raw.startswith((" ", "\t")):
            problems.append(f"lock: not an exact pin: {line!r}")
        if "--hash=" in line and current is not None:
            hashed.add(current)
    problems += [f"lock: {name} has no --hash" for name in sorted(set(pins) - hashed)]
    problems += _litellm_problems(pins.get("litellm"))
    return pins, problems


def _litellm_problems(version: str | None) -> list[str]:
    if version is None:
        return ["lock: litellm is not pinned"]
    if any(fnmatch.fnmatchcase(version, bad) for bad in COMPROMISED_LITELLM):
        return [f"lock: litellm=={version} is a compromised release; pin {VETTED_LITELLM}"]
    if version != VETTED_LITELLM:
        return [f"lock: litellm=={version} is not the vetted {VETTED_LITELLM}"]
    return []


def unexpected_pth(site: Path) -> list[str]:
    """Names of `.pth` files in `site` that are not on the allow-list."""
    return sorted(
        p.name
        for p in site.glob("*.pth")
        if not any(fnmatch.fnmatchcase(p.name, ok) for ok in ALLOWED_PTH)
    )


def drift(site: Path, pins: dict[str, str]) -> list[str]:
    """Installed distributions that differ from the lock, and pins that are not installed."""
    installed: dict[str, str] = {}
    for dist in metadata.distributions(path=[str(site)]):
        name = dist.metadata["Name"]
        if name:
            installed[normalise(name)] = dist.version
    problems = []
    for name, version in sorted(installed.items()):
        if name in OWN_DISTRIBUTIONS:
            continue
        if name not in pins:
            problems.append(f"{name}=={version} is installed but not in the lock")
        elif pins[name] != version:
            problems.append(f"{name}=={version} is installed; the lock pins {pins[name]}")
    problems += [
        f"{n}=={v} is locked but not installed" for n, v in pins.items() if n not in installed
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--lock", type=Path, default=Path(__file__).parents[1] / "requirements.lock"
    )
    parser.add_argument(
        "--site-packages", type=Path, default=Path(sysconfig.get_paths()["purelib"])
    )
    args = parser.parse_args(argv)
    pins, lock_problems = read_lock(args.lock)
    pth = unexpected_pth(args.site_packages)
    drifted = drift(args.site_packages, pins)
    for line in lock_problems:
        print(line)
    for name in pth:
        print(f"unexpected .pth file: {args.site_packages / name} (runs code at start-up)")
    for line in drifted:
        print(f"drift: {line}")
    print(
        f"site-packages {args.site_packages}: {len(pins)} pins, lock problems: "
        f"{len(lock_problems)}, unexpected .pth: {len(pth)}, drift: {len(drifted)}"
    )
    return 1 if lock_problems or pth or drifted else 0


if __name__ == "__main__":
    sys.exit(main())
