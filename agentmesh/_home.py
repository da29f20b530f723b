"""The data home is its user's alone: folders 0700 and files 0600, whatever the umask.

The home holds every question asked (threads and their SQLite WAL, traces, the answer cache)
and the indexes built from private data. With the usual umask (022) they came out 0755/0644 and
a process of another user (a sandbox serving someone else) read questions from the WAL and a
trace. So the home and every folder agentmesh makes in it are created 0700, files agentmesh
writes there 0600, and a home left looser by an older version is tightened the first time a
process opens it, with one log line saying what changed.

The modes are set with ``chmod`` after creation: a umask may only take bits away, never give
the owner what ``mkdir(mode=...)`` asked, so the result does not depend on it.

>>> private_dir(Path("/tmp/agentmesh-home"), "traces")                  # doctest: +SKIP
PosixPath('/tmp/agentmesh-home/traces')
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

__all__ = ["private_dir", "private_file", "tighten"]

log = logging.getLogger(__name__)
_opened: set[Path] = set()
_lock = threading.Lock()


def tighten(root: Path) -> int:
    """Take every group and other permission off ``root`` and everything under it (symlinks are
    neither followed nor changed); return how many entries were looser."""
    changed = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:  # removed meanwhile (a lock, a temporary file)
                continue
            if stat.S_ISLNK(mode) or not mode & 0o077:
                continue
            try:
                os.chmod(path, stat.S_IMODE(mode) & 0o700 | (0o700 if stat.S_ISDIR(mode) else 0))
                changed += 1
            except OSError:  # not ours (a file another user put there): reported by the count staying loose
                log.debug("could not tighten %s", path, exc_info=True)
    return changed


def _open_home(home: Path) -> None:
    """Create ``home`` 0700 (its parents as the umask says); once per process, tighten what an
    older version left looser."""
    with _lock:
        if home in _opened:
            return
        existed = home.is_dir()
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(home, 0o700)
        changed = tighten(home) if existed else 0
        _opened.add(home)
    if changed:
        log.warning("data home '%s': %d folders and files that other users of this machine could read were made "
                    "private (folders 0700, files 0600); older agentmesh versions created them 0755/0644", home, changed)


def private_dir(home: Path, *parts: str) -> Path:
    """``home/parts...``, each level created 0700 if missing (the home itself too)."""
    home = home.expanduser().absolute()
    _open_home(home)
    folder = home
    for part in parts:
        folder = folder / part
        if not folder.is_dir():
            folder.mkdir(exist_ok=True)
            os.chmod(folder, 0o700)
    return folder


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 if it does not exist (SQLite then gives its -wal and -shm
    the database file's mode), or take group and other permissions off an existing one."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    mode = path.stat().st_mode
    if mode & 0o077:
        os.chmod(path, stat.S_IMODE(mode) & 0o700)
    else:
        os.chmod(path, stat.S_IMODE(mode) | 0o600)  # a umask of 0o277 would have left it unwritable
    return path
