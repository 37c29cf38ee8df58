"""Files only their owner may read: a ledger holds spend by team and, with content capture,
prompts and answers. Folders the ledger creates are 0700 and files 0600, whatever the umask
lets through; folders that already exist (a user's own `/srv/ledgers`) are left as they are."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents, each readable by this user only."""
    missing: list[Path] = []
    here = path
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it first: its mode is its own
            continue
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and 0600 unless it exists. SQLite gives the -wal, -shm and journal
    files it creates later the mode of the database file, so they are private too."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def tighten(folder: Path) -> None:
    """Remove group and other access from a folder that belongs to cost-router alone."""
    mode = folder.stat().st_mode & 0o777
    if mode & 0o077:
        folder.chmod(mode & DIR_MODE)
