"""Housekeeping of the data home: the folders that pile up as graphs, settings and models change.

Every change of a knowledge-graph file makes a new store (``kg/stores/store-<hash>``) and a new
node index (``kg/index-<key>``); every change of model, prompts, tools or graph makes a new
cache scope (``cache/scope-<hash>``). Old ones are never read again, but nothing removes them:
:func:`leftovers` finds them and :func:`remove` deletes them. A folder is left alone while any
process holds it (a shared lock taken when it is opened) or when it was used recently.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from agentmesh._files import in_use, last_used

__all__ = ["Leftover", "leftovers", "remove", "KINDS"]

KINDS = {
    "kg store": ("kg/stores", "store-*"),
    "node index": ("kg", "index-*"),
    "cache scope": ("cache", "scope-*"),
}


@dataclass
class Leftover:
    path: Path
    kind: str
    last_used: float
    size: int
    held: bool
    """A live process holds it: never removed."""


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def leftovers(home: Path, *, older_than_days: float = 30.0, now: float | None = None) -> list[Leftover]:
    """Folders under ``home`` not used for ``older_than_days``, oldest first (held ones included, marked)."""
    now = time.time() if now is None else now
    found = []
    for kind, (parent, pattern) in KINDS.items():
        for folder in sorted((home / parent).glob(pattern)) if (home / parent).is_dir() else ():
            if not folder.is_dir() or ".old-" in folder.name or ".gc-" in folder.name:
                continue
            used = last_used(folder)
            if now - used >= older_than_days * 86400:
                found.append(Leftover(folder, kind, used, _size(folder), in_use(folder)))
    return sorted(found, key=lambda f: f.last_used)


def remove(items: list[Leftover]) -> list[Leftover]:
    """Delete the folders no process holds (checked again just before); returns those deleted.
    Each is renamed first, so a half-deleted folder is never taken for a usable one."""
    removed = []
    for item in items:
        if item.held or in_use(item.path) or not item.path.exists():
            continue
        doomed = item.path.with_name(f"{item.path.name}.gc-{int(time.time())}")
        item.path.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        removed.append(item)
    return removed
