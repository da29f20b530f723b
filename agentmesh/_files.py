"""Folders on disk: atomic replacement (write beside, swap by rename), and marks of use that
``agentmesh gc`` reads (which folders a live process holds, and when each was last used)."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["replacing_dir", "UseMark", "in_use", "last_used"]

IN_USE, LAST_USED = ".in_use", ".last_used"


class UseMark:
    """Holds ``folder`` as in use by this process (a shared lock on ``<folder>/.in_use``, kept
    until :meth:`release` or the process ends) and records the time of use. Many processes may
    hold a folder at once; ``agentmesh gc`` deletes none that any process holds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file = None
        try:
            self._file = open(folder / IN_USE, "a")
            fcntl.flock(self._file, fcntl.LOCK_SH)
            (folder / LAST_USED).touch()
        except OSError:  # a read-only data home: nothing to mark, nothing gc could delete either
            self.release()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None

    def __del__(self) -> None:
        self.release()


def in_use(folder: Path) -> bool:
    """True when some process holds ``folder`` (see :class:`UseMark`)."""
    marker = folder / IN_USE
    if not marker.exists():
        return False
    with open(marker, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def last_used(folder: Path) -> float:
    """When ``folder`` was last opened (its creation time if never marked)."""
    try:
        return (folder / LAST_USED).stat().st_mtime
    except FileNotFoundError:
        return folder.stat().st_mtime if folder.exists() else time.time()


@contextmanager
def replacing_dir(folder: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``folder``; when the block ends normally it replaces
    ``folder`` by rename, otherwise it is deleted and ``folder`` is left as it was."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        yield tmp
        if folder.exists():
            old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
