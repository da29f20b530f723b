"""Atomic replacement of a folder: write a new one beside it, then swap by rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["replacing_dir"]


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
