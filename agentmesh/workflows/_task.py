"""A queued task: what ``agentmesh run --queue`` signs and what ``agentmesh worker`` checks
before it runs anything.

A task names its flow by the file's path inside a ``queue_flows`` folder and carries the file's
SHA-256; it never carries a flow, a folder or code. The driver signs the whole task with
``queue_secret``: HMAC-SHA256 over its canonical JSON (every field but ``signature``, keys
sorted, no spaces, UTF-8). A worker checks the signature in constant time and the expiry, then
looks the flow up in its own folders, reads and hashes the file itself and compares::

    {"version": 1, "id": "9f0c...", "expires": 1767225600.0, "run_id": "a1b2c3", "step": "square",
     "index": 3, "flow": "reports/flow.yaml", "flow_sha256": "5e88...", "store": "0c1d...",
     "context": {"inputs": {...}, "steps": {...}, "run_id": "a1b2c3", "item": 3, "index": 3},
     "signature": "b7a4..."}

Fields a worker does not know are ignored (they are signed like the rest).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from agentmesh.workflows.spec import WorkflowError, _inside

__all__ = ["VERSION", "TaskRefused", "canonical", "find_flow", "flow_name", "new_task", "sign", "verify"]

VERSION = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TYPES = {"version": int, "id": str, "expires": (int, float), "run_id": str, "step": str, "index": int, "flow": str,
          "flow_sha256": str, "store": str, "context": dict}


class TaskRefused(WorkflowError):
    """A worker will not run this task. ``authentic``: the signature held, so the task's run and
    item may be trusted (its refusal is committed as the item's error, for the driver to show)."""

    def __init__(self, message: str, *, authentic: bool) -> None:
        super().__init__(message)
        self.authentic = authentic


def canonical(task: dict[str, Any]) -> bytes:
    """The bytes a task's signature covers: every field but ``signature``."""
    body = {k: v for k, v in task.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _mac(task: dict[str, Any], secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), canonical(task), hashlib.sha256).hexdigest()


def sign(task: dict[str, Any], secret: str) -> dict[str, Any]:
    return {**{k: v for k, v in task.items() if k != "signature"}, "signature": _mac(task, secret)}


def new_task(*, run_id: str, step: str, index: int, flow: str, flow_sha256: str, store: str,
             context: dict[str, Any], ttl: float) -> dict[str, Any]:
    """An unsigned task; ``context`` must already be plain JSON (what Celery's serializer gives back)."""
    return {"version": VERSION, "id": uuid.uuid4().hex, "expires": time.time() + ttl, "run_id": run_id, "step": step,
            "index": index, "flow": flow, "flow_sha256": flow_sha256, "store": store, "context": context}


def verify(message: Any, secret: str, *, now: float | None = None) -> dict[str, Any]:
    """The task, if ``message`` is one signed with ``secret``, whole and unexpired; else :class:`TaskRefused`."""
    if not isinstance(message, dict):
        raise TaskRefused(f"not a task (a {type(message).__name__})", authentic=False)
    signature = message.get("signature")
    if not isinstance(signature, str) or not signature:
        raise TaskRefused("the task has no signature: tasks are signed with queue_secret by `agentmesh run --queue`",
                          authentic=False)
    try:
        expected = _mac(message, secret)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TaskRefused(f"the task is not JSON that can be signed ({type(exc).__name__})", authentic=False) from None
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise TaskRefused("the task's signature does not match: it was signed with another queue_secret, or changed "
                          "after it was signed", authentic=False)
    wrong = [k for k, kind in _TYPES.items() if not isinstance(message.get(k), kind) or isinstance(message.get(k), bool)]
    if wrong or message["version"] != VERSION or not _HEX64.match(message["flow_sha256"]):
        raise TaskRefused(f"signed task of another format (version {message.get('version')!r}; missing or wrong: "
                          f"{', '.join(wrong) or 'flow_sha256'}): driver and worker run different agentmesh versions?",
                          authentic=not wrong)
    if message["expires"] < (time.time() if now is None else now):
        raise TaskRefused(f"the task expired {time.time() - message['expires']:.0f} s ago (queue_task_ttl); a task is "
                          "valid for queue_task_ttl seconds after it is sent, and --resume sends the item again",
                          authentic=True)
    return message


def flow_name(path: Path, folders: Sequence[Path]) -> str:
    """The driver's side: ``path`` as a path inside the first of ``folders`` that holds it."""
    resolved = path.resolve()
    for folder in folders:
        root = Path(folder).resolve()
        if resolved.is_relative_to(root):
            return resolved.relative_to(root).as_posix()
    shown = ", ".join(str(f) for f in folders)
    raise WorkflowError(f"flow {path} is not inside a queue_flows folder ({shown}); a queued task names its flow by its "
                        "path inside one, so put the flow there or add its folder to queue_flows, on the driver and on "
                        "every worker")


def find_flow(name: str, folders: Sequence[Path]) -> Path:
    """The worker's side: the file ``name`` names inside one of its own ``folders`` (the first that
    holds it), every symlink resolved; a name that leaves them is refused."""
    shown = ", ".join(str(f) for f in folders)
    if not name or "\x00" in name or "\\" in name or PurePosixPath(name).is_absolute():
        raise WorkflowError(f"the task's flow {name!r} is not a relative path inside this worker's queue_flows "
                            f"folders ({shown})")
    for folder in folders:
        try:
            path = _inside(Path(folder), name, "flow", "queue_flows")
        except WorkflowError:
            continue
        if path.is_file():
            return path
    raise WorkflowError(f"no flow {name!r} inside this worker's queue_flows folders ({shown}) (symlinks resolved); a "
                        "worker runs only flows from its own folders: copy the flow's folder there")
