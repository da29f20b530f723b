"""python: a session kernel in a separate, isolated, limited process.

The code never runs inside the agent's process. Each thread gets its own kernel process, so
variables persist across calls until the session is reset or the kernel dies. Module
blocklists are known to lose, so isolation comes from the OS, in the strongest mode this
machine allows (see :attr:`PythonSandbox.isolation`):

* ``namespaces`` (running as root, as in CI and containers): new network, PID, IPC and mount
  namespaces (no network interface; the agent is invisible; killing the kernel kills every process
  it started) and a new root (see ``_VIEW_SCRIPT``): a read-only tmpfs holding only the
  interpreter, its packages, the loader's libraries and /usr/bin, read-only; /dev/{null,zero,
  random,urandom}; its own /proc; private /tmp and /dev/shm; and the scratch folder, a private tmpfs
  capped at ``scratch_mb`` (the session's disk quota; the host never sees its files). No host socket
  file, settings file, data home or home directory is in it. The code runs as ``nobody`` with no
  capabilities and ``no_new_privs``.
* ``user-namespace`` (unprivileged, where the kernel allows user namespaces): the same, as a mapped user.
* ``process`` (neither): a plain child process, dropped to ``nobody`` if we are root; the host's
  whole filesystem is visible and there is no disk quota beyond the per-file limit. The mode is
  reported, never hidden, and the attack tests refuse to run in it.

In every mode a seccomp filter allows only the system calls CPython, numpy and matplotlib need
(``_kernel.SYSCALLS``, after Docker's default profile): no socket(), io_uring, bpf, ptrace, keyring,
mount or namespace calls; anything else fails with EPERM. Where the filter cannot be installed the
kernel refuses to run code (a ToolError) unless ``allow_without_seccomp=True``. Where cgroups can be
made (see ``_CgroupSupport``), each kernel process gets its own, limiting the session's memory
(processes, memfd and tmpfs pages together) and processes; elsewhere the rlimits below apply per
process (memory) and per uid (processes), and :attr:`PythonSandbox.isolation` says so.

Always: ``python -I`` (no user site, no PYTHON* variables), an environment holding no secrets,
limits on CPU seconds, address space, processes, file size and open files, a wall-clock
timeout per call that kills the kernel's whole process group (the session restarts, and the
model is told its variables are gone), and a cap on returned output. matplotlib figures come
back as PNG bytes in the reply; the host checks them and writes them to a folder of its own
(``<scratch>-figures``), whose paths it returns. Each reply must carry the call's random id.

Not protected: reading what the view holds (system libraries, /usr/bin, the Python installation),
CPU use up to the limits, and, in ``process`` mode, everything the filesystem shows.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.errors import ToolError
from agentmesh.records import Citation
from agentmesh.tools._kernel import KERNEL_SOURCE, SECCOMP_SOURCE, SYSCALLS, allowed_syscalls, seccomp_program

__all__ = ["PythonSandbox", "SandboxResult", "make_python_tool", "PythonArgs"]

PYTHON_DESCRIPTION = (
    "Run Python 3 code in an isolated sandbox session and get back what it prints (the last "
    "expression's value is printed too). Variables persist between calls; set reset=true to start "
    "over. No network. Use it for arithmetic, unit conversions, data processing and charts "
    "(matplotlib figures are saved as files)."
)
NOBODY = 65534
_FIGURE_NAME = re.compile(r"figure-\d{1,6}\.png")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The filesystem view (``namespaces`` / ``user-namespace`` modes): a new root, a small read-only
# tmpfs holding only read-only binds of what the interpreter needs (its prefixes, the site-packages
# it imports from, the dynamic loader's libraries, /usr/bin for subprocesses, /etc/ld.so.cache),
# /dev/{null,zero,random,urandom}, a /proc of the session's own PID namespace, private /tmp and
# /dev/shm tmpfs and the scratch tmpfs (the session's disk quota). No /run, /var, /home, /etc beyond
# ld.so.cache, no settings file, no data home, no checkout: no host socket file and no host secret
# is in it. The new root is mounted over the scratch folder's own path (an empty folder of ours),
# then pivot_root makes it / and the old root is detached.
# Arguments: scratch, the paths to bind (a symlink is copied as a symlink), "--", the command.
_VIEW_SCRIPT = (
    'S="$1"; shift; R="$S"; '
    'mount -t tmpfs -o size=1m,mode=0755,nosuid,nodev tmpfs "$R" || exit 90; '
    # private /tmp and /dev/shm first: an interpreter that lives under /tmp (a CI virtualenv) is
    # bound on top of them, not hidden under them
    'mkdir -p "$R/dev/shm" "$R/proc" "$R/tmp" || exit 92; '
    'for d in /dev/shm /tmp; do mount -t tmpfs -o size={tmpfs},mode=1777,nosuid,nodev tmpfs "$R$d" || exit 92; done; '
    'while [ "$1" != -- ]; do p="$1"; shift; '
    'if [ -L "$p" ]; then mkdir -p "$R${{p%/*}}" && ln -s "$(readlink "$p")" "$R$p" || exit 91; '
    'elif [ -d "$p" ]; then mkdir -p "$R$p" && mount --bind -o ro,nosuid,nodev "$p" "$R$p" || exit 91; '
    'elif [ -f "$p" ]; then mkdir -p "$R${{p%/*}}" && touch "$R$p" && mount --bind -o ro,nosuid,nodev "$p" "$R$p" || exit 91; '
    'fi; done; shift; '
    'for d in null zero random urandom; do touch "$R/dev/$d" && mount --bind "/dev/$d" "$R/dev/$d" || exit 92; done; '
    'ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; '
    'ln -s /proc/self/fd/2 "$R/dev/stderr"; '
    'mount -t proc -o nosuid,nodev,noexec proc "$R/proc" || exit 92; '
    'mkdir -p "$R$S" && mount -t tmpfs -o size={scratch},mode=0700{owner},nosuid,nodev tmpfs "$R$S" || exit 90; '
    'mount -o remount,ro,nosuid,nodev "$R" || exit 93; '
    'cd "$R" && {pivot_root} . . && umount -l . || exit 94; '
    'cd "$S" && exec "$@"'
)
# With the view switched off (tests of the seccomp layer alone): the old view, the host's own tree
# with every mount read-only, a private scratch tmpfs, private /dev/shm and /run.
_READONLY_SCRIPT = (
    'S="$1"; shift; while [ "$1" != -- ]; do shift; done; shift; '
    'mount -t tmpfs -o size={scratch},mode=0700{owner},nosuid,nodev tmpfs "$S" || exit 90; '
    "for m in $(awk '{{print $5}}' /proc/self/mountinfo | sort -u); do "
    '[ "$m" = "$S" ] || mount -o remount,ro,bind "$m" 2>/dev/null || [ "$m" != / ] || exit 91; done; '
    "for d in /dev/shm /run; do [ -d $d ] && {{ mount -t tmpfs -o size={tmpfs},mode=1777,nosuid,nodev tmpfs $d || exit 92; }}; done; "
    'touch /agentmesh-ro-check 2>/dev/null && exit 93; cd "$S" && exec "$@"'
)
# Joins the session's cgroups (their cgroup.procs files come first), then runs the command.
_CGROUP_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 95; shift; done; shift; exec "$@"'
# Where the dynamic loader and subprocesses find what they need (bound read-only when present).
_SYSTEM_PATHS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32", "/usr/bin", "/bin",
                 "/etc/ld.so.cache")
LAYERS = ("seccomp", "view")
_DROP = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs",
         "--bounding-set=-all", "--inh-caps=-all"]
# Set inside the kernel before any user code: lowered hard limits cannot be raised again by an
# unprivileged process. Audit hook only in "process" mode.
_PRELUDE = r'''
import resource, sys
for name, value in {limits!r}.items():
    resource.setrlimit(getattr(resource, name), (value, value))
if {audit!r}:
    def _no_network(event, args):
        if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo"):
            raise PermissionError("network access is blocked in the agentmesh sandbox")
    sys.addaudithook(_no_network)
del resource
'''


@dataclass
class SandboxResult:
    stdout: str
    stderr: str = ""
    result: str | None = None
    error: str | None = None
    figures: list[str] = field(default_factory=list)
    timed_out: bool = False
    restarted: bool = False
    """The kernel died or was killed: the session's variables are gone."""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and not self.restarted

    def text(self) -> str:
        parts = [p for p in (self.stdout.rstrip(), self.result) if p]
        if self.stderr.strip():
            parts.append("stderr:\n" + self.stderr.rstrip())
        if self.figures:
            parts.append("figures saved: " + ", ".join(self.figures))
        return "\n".join(parts) or "(no output)"


def _probe(command: list[str], cwd: str) -> bool:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class _CgroupSupport:
    """One cgroup per kernel process, made under the agent's own cgroup, where this process may:
    cgroup v2 (memory.max, memory.swap.max = 0, pids.max) or v1 (memory.limit_in_bytes and
    memory.memsw.limit_in_bytes, pids.max). Memory counts every process of the session plus its
    shmem: memfd pages and the tmpfs of its scratch, /tmp and /dev/shm."""

    def __init__(self, memory: Path | None, pids: Path | None, version: str, why: str = "") -> None:
        self.memory_parent, self.pids_parent, self.version, self.why = memory, pids, version, why

    @property
    def memory(self) -> bool:
        return self.memory_parent is not None

    @property
    def pids(self) -> bool:
        return self.pids_parent is not None

    @classmethod
    def detect(cls, root: Path = Path("/sys/fs/cgroup")) -> "_CgroupSupport":
        try:
            own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
        except (OSError, ValueError):
            return cls(None, None, "none", "/proc/self/cgroup is unreadable")
        if (root / "cgroup.controllers").is_file():  # the unified hierarchy
            parent = root / own.get("", "/").lstrip("/")
            try:
                enabled = (parent / "cgroup.subtree_control").read_text().split()
                if not {"memory", "pids"} <= set(enabled):
                    (parent / "cgroup.subtree_control").write_text("+memory +pids")
            except OSError as exc:
                return cls(None, None, "v2", f"cannot enable memory and pids below {parent} ({exc.strerror})")
            found = cls(parent, parent, "v2")
        else:
            memory = root / "memory" / own.get("memory", "/").lstrip("/")
            pids = root / "pids" / own.get("pids", "/").lstrip("/")
            found = cls(memory if (memory / "memory.limit_in_bytes").is_file() else None,
                        pids if (pids / "cgroup.procs").is_file() else None, "v1")
        try:  # may we make one here?
            made = found.create(f"agentmesh-probe-{os.getpid()}-{secrets.token_hex(4)}", 64, 8)
            found.remove(made)
        except OSError as exc:
            return cls(None, None, found.version, f"cannot create a cgroup ({exc.strerror})")
        if not (found.memory and found.pids):
            found.why = "no writable " + " and ".join(n for n, ok in (("memory", found.memory), ("pids", found.pids)) if not ok)
        return found

    def create(self, name: str, memory_mb: int, max_processes: int) -> list[Path]:
        """The session's cgroups, limits written; the caller joins them (their cgroup.procs)."""
        made: list[Path] = []
        try:
            for parent in dict.fromkeys(p for p in (self.memory_parent, self.pids_parent) if p is not None):
                folder = parent / name
                folder.mkdir()
                made.append(folder)
                limit = str(memory_mb * 1024 * 1024)
                if self.version == "v2":
                    (folder / "memory.max").write_text(limit)
                    if (folder / "memory.swap.max").exists():
                        (folder / "memory.swap.max").write_text("0")
                    (folder / "pids.max").write_text(str(max_processes))
                elif parent == self.memory_parent:
                    (folder / "memory.limit_in_bytes").write_text(limit)
                    if (folder / "memory.memsw.limit_in_bytes").exists():  # only with swap accounting
                        (folder / "memory.memsw.limit_in_bytes").write_text(limit)
                if self.version == "v1" and parent == self.pids_parent:
                    (folder / "pids.max").write_text(str(max_processes))
        except OSError:
            self.remove(made)
            raise
        return made

    @staticmethod
    def remove(folders: list[Path]) -> None:
        """Kill whatever is left in them (even a process that left the kernel's process group), then remove them."""
        for folder in folders:
            for _ in range(50):
                try:
                    pids = (folder / "cgroup.procs").read_text().split()
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError, ValueError):
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)

    def describe(self, memory_mb: int, max_processes: int) -> str:
        limits = []
        if self.memory:
            limits.append(f"memory.max {memory_mb} MB for the whole session (its processes, memfd and tmpfs pages)")
        if self.pids:
            limits.append(f"pids.max {max_processes} for the session")
        where = f"per-session cgroups ({self.version}): " + ", ".join(limits) if limits else "no per-session cgroup"
        missing = []
        if not self.memory:
            missing.append(f"memory only per process (RLIMIT_AS {memory_mb} MB each: forks multiply it; memfd "
                           "pages are counted nowhere)")
        if not self.pids:
            missing.append(f"processes per uid (RLIMIT_NPROC {max_processes}, shared by every session)")
        return where + (f"; NOT limited ({self.why}): " + "; ".join(missing) if missing else "")


class _Kernel:
    """One sandboxed Python process holding one session's variables."""

    def __init__(self, sandbox: "PythonSandbox", scratch: Path) -> None:
        self.sandbox = sandbox
        self.scratch = scratch
        self.proc: subprocess.Popen | None = None
        self.reply_fd: int | None = None
        self.lock = threading.Lock()
        self.calls = 0
        self.cgroups: list[Path] = []
        self.starts = 0

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        command = self.sandbox._command(self.scratch, write_fd)
        support = self.sandbox._cgroups
        if support.memory or support.pids:
            self.starts += 1
            name = f"agentmesh-{os.getpid()}-{self.scratch.name}-{self.starts}"
            try:
                self.cgroups = support.create(name, self.sandbox.memory_mb, self.sandbox.max_processes)
            except OSError as exc:
                os.close(read_fd), os.close(write_fd)
                raise ToolError(f"the python tool could not create the session's cgroup {name}: {exc}") from exc
            command = ["/bin/sh", "-c", _CGROUP_SCRIPT, "sh", *(str(c / "cgroup.procs") for c in self.cgroups), "--", *command]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.scratch,
            env=self.sandbox._env(self.scratch),
            pass_fds=(write_fd,),
            start_new_session=True,
            text=True,
        )
        os.close(write_fd)
        self.reply_fd = read_fd
        self.buffer = b""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin,):
                try:
                    stream.close()
                except OSError:
                    pass
        if self.reply_fd is not None:
            os.close(self.reply_fd)
        self.proc, self.reply_fd = None, None
        _CgroupSupport.remove(self.cgroups)
        self.cgroups = []

    def run(self, code: str, timeout: float) -> SandboxResult:
        restarted = False
        if not self.alive():
            restarted = self.calls > 0
            self.kill()
            self.start()
        self.calls += 1
        call_id = secrets.token_hex(16)  # unknown to the code until this call: no reply can be prepared
        self.buffer = b""  # whatever the previous call's code wrote after its reply is dropped
        try:
            self.proc.stdin.write(json.dumps({"id": call_id, "code": code}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            return SandboxResult("", error="the sandbox process could not start", restarted=True)
        deadline = time.monotonic() + timeout
        limit = self.sandbox.max_output * 4 + self.sandbox.max_figure_bytes * 2 + 65536
        received = 0
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                data = _reply(line, call_id)
                if data is not None and data.get("fatal"):  # the kernel refused to run code unconfined
                    self.kill()
                    raise ToolError(f"the python tool cannot isolate code here: {str(data['fatal'])[:300]}; "
                                    "PythonSandbox(allow_without_seccomp=True) runs code without the filter")
                if data is not None:
                    self.buffer = b""
                    figures, problems = self.sandbox._store_figures(self.scratch, data.get("figures"))
                    stderr = str(data.get("stderr") or "") + "".join(problems)
                    return SandboxResult(str(data.get("stdout") or ""), stderr, _text_or_none(data.get("result")),
                                         _text_or_none(data.get("error")), figures, restarted=restarted)
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return SandboxResult("", timed_out=True, restarted=True)
            ready, _, _ = select.select([self.reply_fd], [], [], min(left, 0.5))
            if not ready:
                if not self.alive():
                    break
                continue
            chunk = os.read(self.reply_fd, 65536)
            if not chunk:
                break
            self.buffer += chunk
            received += len(chunk)
            if received > limit:
                self.kill()
                return SandboxResult("", error="the reply was too large", restarted=True)
        code_ = self.proc.poll() if self.proc else None
        self.kill()
        why = f"the sandbox process died (exit status {code_})" if code_ is not None else "the sandbox process died"
        return SandboxResult("", error=f"{why}; a limit was probably reached (memory, processes, CPU)", restarted=True)


def _figures_dir(scratch: Path) -> Path:
    """Where the host writes a session's figures: beside its scratch folder, never inside it."""
    return scratch.with_name(scratch.name + "-figures")


def _reply(line: bytes, call_id: str) -> dict | None:
    """The reply to this call, or None for any other line (garbage, or a forged or stale reply)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("id") == call_id else None


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


class PythonSandbox:
    """Isolated Python sessions, one kernel process per session id.

    >>> sandbox = PythonSandbox(timeout=5)
    >>> sandbox.run("x = 21")                 # doctest: +SKIP
    >>> sandbox.run("x * 2").result           # doctest: +SKIP
    '42'
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        memory_mb: int = 1024,
        max_output: int = 20_000,
        cpu_seconds: int = 300,
        max_processes: int = 64,
        tmpfs_mb: int = 64,
        scratch_mb: int = 128,
        max_figure_bytes: int = 8 * 1024 * 1024,
        root_dir: str | Path | None = None,
        max_sessions: int = 8,
        mode: str | None = None,
        allow_without_seccomp: bool = False,
        switch_off: tuple[str, ...] = (),
    ) -> None:
        """``allow_without_seccomp``: run code even where the system call filter cannot be installed
        (no seccomp, an unknown machine); the isolation report says so. By default the tool refuses.
        ``switch_off``: for the tests of each layer alone only ("seccomp", "view")."""
        unknown = set(switch_off) - set(LAYERS)
        if unknown:
            raise ValueError(f"switch_off: unknown layer(s) {sorted(unknown)}; the layers are {LAYERS}")
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_output = max_output
        self.cpu_seconds = cpu_seconds
        self.max_processes = max_processes
        self.tmpfs_mb = tmpfs_mb
        self.scratch_mb = scratch_mb
        self.max_figure_bytes = max_figure_bytes
        self.max_sessions = max_sessions
        self.root_dir = Path(root_dir) if root_dir else Path(tempfile.gettempdir()) / "agentmesh-sandbox"
        self.root_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root_dir, 0o711)  # others may enter a scratch folder they know, not list them
        self._sessions: OrderedDict[str, _Kernel] = OrderedDict()
        self._lock = threading.Lock()
        self.allow_without_seccomp = allow_without_seccomp
        self._paths: list[str] | None = None
        self.seccomp = "seccomp" not in switch_off
        self.view = "view" not in switch_off
        self._cgroups = _CgroupSupport.detect()
        self.mode = mode or self._detect_mode()

    # -- isolation ------------------------------------------------------------------------------
    def _wrap(self, mode: str, scratch: Path, argv: list[str]) -> list[str]:
        owner = f",uid={NOBODY},gid={NOBODY}" if mode == "namespaces" else ""
        template = _VIEW_SCRIPT if self.view else _READONLY_SCRIPT
        script = template.format(tmpfs=f"{self.tmpfs_mb}m", scratch=f"{self.scratch_mb}m", owner=owner,
                                 pivot_root=shutil.which("pivot_root", path="/usr/sbin:/sbin:/usr/bin:/bin") or "pivot_root")
        spaces = ["--mount", "--net", "--pid", "--ipc", "--fork", "--mount-proc"]
        view = [str(scratch), *(self._view_paths() if self.view else []), "--"]
        if mode == "namespaces":
            return ["unshare", *spaces, "--", "/bin/sh", "-c", script, "sh", *view, *_DROP, *argv]
        if mode == "user-namespace":
            return ["unshare", "--user", "--map-root-user", *spaces, "--", "/bin/sh", "-c", script, "sh", *view, *argv]
        if os.geteuid() == 0:  # never run model-written code as root, even without namespaces
            if not shutil.which("setpriv"):
                raise ToolError("the python tool cannot isolate code here: no namespaces and no setpriv to drop root")
            return [*_DROP, *argv]
        return argv

    def _view_paths(self) -> list[str]:
        """What the new root holds from the host, read-only: the interpreter's prefixes, the
        site-packages it imports from, and what the loader and subprocesses need. A folder on
        sys.path outside the prefixes is bound only if it is a site-/dist-packages folder (an
        editable checkout is not: the kernel never imports agentmesh)."""
        if self._paths is None:
            probe = subprocess.run([sys.executable, "-I", "-c", "import json, sys; print(json.dumps("
                                    "[sys.prefix, sys.base_prefix, sys.executable, sys.path]))"],
                                   capture_output=True, text=True, timeout=30, env=self._env(self.root_dir))
            prefix, base_prefix, executable, path = json.loads(probe.stdout)
            wanted = [prefix, base_prefix, os.path.realpath(executable), *_SYSTEM_PATHS]
            wanted += [p for p in path if p.endswith(("site-packages", "dist-packages"))]
            links = [p for p in wanted if os.path.islink(p)]  # copied as symlinks; their targets are bound
            folders = {os.path.realpath(p) for p in wanted if os.path.exists(p)}
            paths = links + [p for p in folders
                             if not any(p.startswith(other.rstrip("/") + "/") for other in folders if other != p)]
            self._paths = sorted(set(paths), key=lambda p: (p.count("/"), p))
        return self._paths

    def _detect_mode(self) -> str:
        probe_dir = Path(tempfile.mkdtemp(dir=self.root_dir))
        os.chmod(probe_dir, 0o777)
        try:
            candidates = (["namespaces"] if os.geteuid() == 0 else []) + ["user-namespace"]
            if os.geteuid() == 0 and shutil.which("setpriv"):
                os.chown(probe_dir, NOBODY, NOBODY)
            for mode in candidates:
                if shutil.which("unshare") and (mode != "namespaces" or shutil.which("setpriv")):
                    if _probe(self._wrap(mode, probe_dir, [sys.executable, "-I", "-c", "pass"]), str(probe_dir)):
                        return mode
            return "process"
        finally:
            shutil.rmtree(probe_dir, ignore_errors=True)

    @property
    def isolation(self) -> dict[str, str]:
        """What protects the host in the mode in effect (printed by README and the tool)."""
        isolated = self.mode != "process"
        network = ("none (empty network namespace)" if isolated else "no namespace support here") + (
            "; socket() and io_uring refused by seccomp" if self.seccomp else "; NO system call filter (switched off)")
        if self.mode == "process":
            files = ("runs as nobody (root host)" if os.geteuid() == 0 else "runs as the invoking user: NOT isolated") + (
                "; the whole host filesystem is visible (no mount namespace): world-readable files, settings files "
                "and sockets included")
        elif self.view:
            files = (f"a new root holding only the interpreter, its packages, system libraries and /usr/bin "
                     f"(read-only), a private /tmp and /dev/shm, and the scratch folder (a private {self.scratch_mb} MB "
                     "tmpfs); no host socket, settings file, data home or home directory")
        else:
            files = (f"the host's tree, every mount read-only (view switched off); scratch a private "
                     f"{self.scratch_mb} MB tmpfs; private /dev/shm and /run")
        if self.mode == "namespaces":
            files += "; runs as nobody"
        if not self.seccomp:
            syscalls = "NO filter (switched off for a test)"
        elif self.allow_without_seccomp:
            syscalls = (f"allowlist of {len(allowed_syscalls(platform.machine()))} system calls where seccomp is "
                        "available; code runs WITHOUT a filter where it is not (allow_without_seccomp)"
                        if platform.machine() in SYSCALLS else "NO filter: no table for this machine (allow_without_seccomp)")
        else:
            syscalls = ("allowlist (Docker's default profile, cut down), everything else EPERM; the tool refuses to run "
                        "code where seccomp is unavailable")
        resources = self._cgroups.describe(self.memory_mb, self.max_processes)
        return {"mode": self.mode, "network": network, "filesystem": files, "syscalls": syscalls, "resources": resources}

    def _command(self, scratch: Path, reply_fd: int) -> list[str]:
        limits = {
            "RLIMIT_CPU": self.cpu_seconds,
            "RLIMIT_AS": self.memory_mb * 1024 * 1024,
            "RLIMIT_FSIZE": 50 * 1024 * 1024,
            "RLIMIT_NOFILE": 256,
            "RLIMIT_CORE": 0,
        }
        # RLIMIT_NPROC counts every process of the uid (all sessions): only where no pids cgroup limits a session
        if (self.mode != "process" or os.geteuid() != 0) and not self._cgroups.pids:
            limits["RLIMIT_NPROC"] = self.max_processes
        machine = platform.machine()
        program = seccomp_program(machine).hex() if machine in SYSCALLS else ""
        source = (_PRELUDE.format(limits=limits, audit=self.mode == "process")
                  + SECCOMP_SOURCE.format(program=program, machine=machine, seccomp=self.seccomp, allow_without=self.allow_without_seccomp)
                  + KERNEL_SOURCE)
        argv = [sys.executable, "-I", "-c", source, str(reply_fd), str(self.max_output), str(self.max_figure_bytes)]
        return self._wrap(self.mode, scratch, argv)

    def _store_figures(self, scratch: Path, figures: object) -> tuple[list[str], list[str]]:
        """Write the reply's figures to a folder only the host writes to; paths, and what was refused."""
        if not figures:
            return [], []
        folder = _figures_dir(scratch)
        folder.mkdir(mode=0o700, exist_ok=True)
        paths, problems, used = [], [], 0
        for figure in figures if isinstance(figures, list) else []:
            name = figure.get("name") if isinstance(figure, dict) else None
            try:
                data = base64.b64decode(str(figure.get("png", "")), validate=True) if name else b""
            except ValueError:
                data = b""
            if not isinstance(name, str) or not _FIGURE_NAME.fullmatch(name) or not data.startswith(_PNG_MAGIC):
                problems.append(f"\na figure was refused: not a PNG under a figure-N.png name ({str(name)[:40]!r})")
                continue
            used += len(data)
            if used > self.max_figure_bytes:
                problems.append(f"\n{name} not kept: the figures of one call may hold {self.max_figure_bytes} bytes")
                continue
            path = folder / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            paths.append(str(path))
        return paths, problems

    def _env(self, scratch: Path) -> dict[str, str]:
        # nothing from the agent's environment: no keys, no tokens, no proxies
        home = str(scratch)
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
                "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.mpl"}

    # -- sessions -------------------------------------------------------------------------------
    def _kernel(self, session: str) -> _Kernel:
        with self._lock:
            kernel = self._sessions.pop(session, None)
            if kernel is None:
                scratch = Path(tempfile.mkdtemp(prefix="s-", dir=self.root_dir))
                if os.geteuid() == 0:  # the code runs as nobody in every mode when we are root
                    os.chown(scratch, NOBODY, NOBODY)
                kernel = _Kernel(self, scratch)
            self._sessions[session] = kernel
            while len(self._sessions) > self.max_sessions:
                _, old = self._sessions.popitem(last=False)
                self._dispose(old)
            return kernel

    def _dispose(self, kernel: _Kernel) -> None:
        kernel.kill()
        shutil.rmtree(kernel.scratch, ignore_errors=True)
        shutil.rmtree(_figures_dir(kernel.scratch), ignore_errors=True)

    def scratch_dir(self, session: str = "default") -> Path:
        return self._kernel(session).scratch

    def run(self, code: str, session: str = "default", timeout: float | None = None) -> SandboxResult:
        """Run ``code`` in ``session``'s kernel (started on first use)."""
        kernel = self._kernel(session)
        with kernel.lock:
            return kernel.run(code, timeout or self.timeout)

    def reset(self, session: str = "default") -> None:
        """Forget ``session``: kill its kernel and delete its scratch folder."""
        with self._lock:
            kernel = self._sessions.pop(session, None)
        if kernel is not None:
            self._dispose(kernel)

    def close(self) -> None:
        with self._lock:
            kernels, self._sessions = list(self._sessions.values()), OrderedDict()
        for kernel in kernels:
            self._dispose(kernel)

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass


class PythonArgs(BaseModel):
    code: str = Field(description="Python 3 source code to run.")
    reset: bool = Field(False, description="Start a fresh session first (forget all variables).")


def make_python_tool(sandbox: PythonSandbox) -> BaseTool:
    def run_python(code: str, reset: bool = False, config: Annotated[RunnableConfig, InjectedToolArg] = None) -> tuple[str, list[dict]]:
        session = str(((config or {}).get("configurable") or {}).get("thread_id", "default"))
        if reset:
            sandbox.reset(session)
        result = sandbox.run(code, session)
        citation = [Citation(kind="code", ref="python", detail=code).model_dump()]
        if result.timed_out:
            raise ToolError(f"the code ran longer than {sandbox.timeout:g}s and was stopped; the session restarted, variables are gone")
        if result.error and result.restarted and not result.stdout:
            raise ToolError(result.error)
        if result.error:
            last = result.error.strip().splitlines()[-1]
            raise ToolError(f"the code failed: {last}")
        text = result.text()
        if result.restarted:
            text = "(the session had restarted: earlier variables are gone)\n" + text
        return text, citation

    return StructuredTool.from_function(
        run_python,
        name="python",
        description=PYTHON_DESCRIPTION,
        metadata={"approval": True},  # sandboxed, but it runs code a model wrote: a person says yes first
        args_schema=PythonArgs,
        response_format="content_and_artifact",
    )
