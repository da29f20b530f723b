"""Attacks on the python sandbox's isolation layers, each run against the whole sandbox and against
each layer alone: ``seccomp_alone`` (the syscall allowlist, with the filesystem view switched off)
and ``view_alone`` (the new root with no host socket or secret, with the filter switched off).

An attack is parametrized only with the layers that claim to stop it (SECURITY.md has the table);
each proves the attack impossible with a listener, file or second session of its own, made by the
test, that demonstrably works from the host.
"""

from __future__ import annotations

import errno
import os
import platform
import secrets
import shutil
import socket
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest

from agentmesh.tools.python_repl import PythonSandbox

LAYER_FLAGS = {"whole": {}, "seccomp_alone": {"switch_off": ("view",)}, "view_alone": {"switch_off": ("seccomp",)}}
ALL = ["whole", "seccomp_alone", "view_alone"]
SECCOMP = ["whole", "seccomp_alone"]
VIEW = ["whole", "view_alone"]

# system call numbers the attacks call directly (ctypes), per architecture
NR = {
    "x86_64": dict(io_uring_setup=425, io_uring_enter=426, bpf=321, userfaultfd=323, perf_event_open=298, keyctl=250,
                   add_key=248, request_key=249, ptrace=101, process_vm_readv=310, mount=165, unshare=272, setns=308,
                   name_to_handle_at=303, open_by_handle_at=304, kexec_load=246, init_module=175, clone=56, clone3=435),
    "aarch64": dict(io_uring_setup=425, io_uring_enter=426, bpf=280, userfaultfd=282, perf_event_open=241, keyctl=219,
                    add_key=217, request_key=218, ptrace=117, process_vm_readv=270, mount=40, unshare=97, setns=268,
                    name_to_handle_at=264, open_by_handle_at=265, kexec_load=104, init_module=105, clone=220, clone3=435),
}[platform.machine()]

PRELUDE = f"""
import ctypes, errno, os
NR = {NR!r}
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sys_(name, *args):
    value = libc.syscall(NR[name], *args)
    return value, (ctypes.get_errno() if value == -1 else 0)
"""


@pytest.fixture(scope="module", params=ALL)
def layer(request):
    return request.param


_boxes: dict[str, PythonSandbox] = {}


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    yield _boxes
    for box in _boxes.values():
        box.close()
    _boxes.clear()


@pytest.fixture
def sandbox(layer, boxes, tmp_path_factory):
    if layer not in boxes:
        box = PythonSandbox(timeout=20, memory_mb=512, root_dir=tmp_path_factory.mktemp(f"sandbox-{layer}"),
                            **LAYER_FLAGS[layer])
        if box.mode == "process":
            box.close()
            pytest.skip("no OS isolation on this machine (mode=process): the attacks would run unconfined")
        boxes[layer] = box
    return boxes[layer]


def run(sandbox, code, session="attack", timeout=None):
    return sandbox.run(PRELUDE + textwrap.dedent(code), session=session, timeout=timeout)


def value(result):
    assert result.error is None and result.result is not None, result
    return eval(result.result)


@pytest.fixture
def host_folder():
    """A root-owned folder of the host outside /run and /tmp (where services keep sockets and files)."""
    base = "/var/lib" if os.access("/var/lib", os.W_OK) else tempfile.gettempdir()
    folder = Path(tempfile.mkdtemp(prefix="agentmesh-attack-", dir=base))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Listener:
    """A root-owned, world-connectable AF_UNIX server of the host: counts connections and bytes."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o777)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.path, self.accepted, self.received = path, 0, b""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        probe = socket.socket(socket.AF_UNIX)  # it works from the host
        probe.connect(str(path))
        probe.sendall(b"probe")
        probe.close()
        for _ in range(100):
            if self.received == b"probe":
                break
            threading.Event().wait(0.05)
        assert self.accepted == 1 and self.received == b"probe", "the listener does not work from the host"
        self.accepted, self.received = 0, b""

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.settimeout(1)
            try:
                while chunk := conn.recv(1024):
                    self.received += chunk
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.done.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def listener(host_folder):
    server = Listener(host_folder / "service.sock")
    yield server
    server.close()


IO_URING_CONNECT = """
import mmap, struct
def io_uring_connect(path):
    params = ctypes.create_string_buffer(120)
    fd, err = sys_("io_uring_setup", 4, params)
    if fd < 0:
        return ("setup", errno.errorcode.get(err, err))
    sq_entries, cq_entries = struct.unpack_from("II", params, 0)
    sq_head, sq_tail, sq_mask, _, _, _, sq_array = struct.unpack_from("7I", params, 40)
    cq_head, cq_tail, cq_mask, _, _, cqes = struct.unpack_from("6I", params, 80)
    sq = mmap.mmap(fd, sq_array + sq_entries * 4, offset=0)
    cq = mmap.mmap(fd, cqes + cq_entries * 16, offset=0x8000000)
    sqes = mmap.mmap(fd, sq_entries * 64, offset=0x10000000)
    def submit(opcode, sqe_fd, off=0, addr=0, length=0):
        tail = struct.unpack_from("I", sq, sq_tail)[0]
        index = tail & struct.unpack_from("I", sq, sq_mask)[0]
        sqe = struct.pack("BBHiQQIIQHHiQQ", opcode, 0, 0, sqe_fd, off, addr, length, 0, 7, 0, 0, 0, 0, 0)
        sqes[index * 64:(index + 1) * 64] = sqe
        struct.pack_into("I", sq, sq_array + index * 4, index)
        struct.pack_into("I", sq, sq_tail, tail + 1)
        done, err = sys_("io_uring_enter", fd, 1, 1, 1, None, 0)
        if done < 0:
            return None, errno.errorcode.get(err, err)
        head = struct.unpack_from("I", cq, cq_head)[0]
        res = struct.unpack_from("Qi", cq, cqes + (head & struct.unpack_from("I", cq, cq_mask)[0]) * 16)[1]
        struct.pack_into("I", cq, cq_head, head + 1)
        return res, None
    res, err = submit(45, 1, off=1)        # IORING_OP_SOCKET: AF_UNIX, SOCK_STREAM
    if err or res < 0:
        return ("socket", err or errno.errorcode.get(-res, res))
    sock = res
    address = struct.pack("H108s", 1, path.encode())
    buffer = ctypes.create_string_buffer(address, len(address))
    res, err = submit(16, sock, off=len(address), addr=ctypes.addressof(buffer))  # IORING_OP_CONNECT
    if err or res < 0:
        return ("connect", err or errno.errorcode.get(-res, res))
    os.write(sock, b"stolen")
    os.close(sock)
    return ("connected", 0)
"""


@pytest.mark.parametrize("layer", ALL, indirect=True)
def test_attack_python_io_uring_socket_to_host_listener(sandbox, listener):
    """io_uring creates and connects a socket without the socket() system call."""
    result = run(sandbox, IO_URING_CONNECT + f"\nio_uring_connect({str(listener.path)!r})")
    outcome = value(result)
    threading.Event().wait(0.3)
    assert listener.accepted == 0 and listener.received == b"", outcome
    assert outcome[0] != "connected"


@pytest.mark.parametrize("layer", VIEW, indirect=True)
def test_attack_python_no_host_socket_file_in_view(sandbox, listener):
    """Every socket file the sandbox can see, anywhere: there must be none (the host has at least one)."""
    result = run(sandbox, """
        import stat
        found = []
        for folder, dirs, files in os.walk('/'):
            if folder in ('/proc', '/sys'):
                dirs[:] = []
                continue
            for name in files + dirs:
                path = os.path.join(folder, name)
                try:
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        found.append(path)
                except OSError:
                    pass
        found[:20]
    """, timeout=120)
    assert value(result) == []


@pytest.mark.parametrize("layer", ["whole", "view_alone"], indirect=True)
def test_attack_python_read_settings_file(sandbox, host_folder):
    """A world-readable agentmesh.toml holding a key, outside scratch: the sandbox cannot even see it."""
    key = "sk-settings-" + secrets.token_hex(8)
    settings = host_folder / "agentmesh.toml"
    settings.write_text(f'[model]\napi_key = "{key}"\n')
    os.chmod(settings, 0o644)
    result = run(sandbox, f"""
        path = {str(settings)!r}
        seen = [os.path.exists(path), os.path.exists(os.path.dirname(path))]
        try:
            seen.append(open(path).read())
        except OSError as exc:
            seen.append(type(exc).__name__)
        seen
    """)
    assert key not in str(result)
    assert value(result) == [False, False, "FileNotFoundError"]


@pytest.mark.parametrize("layer", ["whole", "view_alone"], indirect=True)
def test_attack_python_read_data_home(sandbox, host_folder):
    """AGENTMESH_HOME with another user's conversation in a 0644 WAL: not in the view."""
    home = host_folder / "agentmesh-home"
    home.mkdir(mode=0o755)
    question = "question-of-another-user-" + secrets.token_hex(6)
    (home / "threads.sqlite-wal").write_text(question)
    os.chmod(home / "threads.sqlite-wal", 0o644)
    result = run(sandbox, f"""
        home = {str(home)!r}
        seen = [os.path.isdir(home)]
        for root, dirs, files in os.walk(home):
            for name in files:
                seen.append(open(os.path.join(root, name)).read())
        seen
    """)
    assert question not in str(result)
    assert value(result) == [False]


@pytest.mark.parametrize("layer", ["whole", "view_alone"], indirect=True)
def test_attack_python_read_host_home(sandbox):
    """The host user's $HOME (~/.config/agentmesh, ~/.ssh, ~/.netrc) is not in the view: at most the folders
    leading to the Python installation, when it lives there (pyenv)."""
    import sys

    home = Path.home()
    probe = home / f".agentmesh-attack-{secrets.token_hex(4)}"
    probe.write_text("home secret")
    os.chmod(probe, 0o644)
    on_the_way = {Path(p).relative_to(home).parts[0] for p in (sys.prefix, sys.base_prefix) if Path(p).is_relative_to(home)}
    try:
        result = run(sandbox, f"""
            home = {str(home)!r}
            try:
                listing = sorted(os.listdir(home))
            except OSError as exc:
                listing = type(exc).__name__
            [os.path.exists({str(probe)!r}), listing]
        """)
        seen, listing = value(result)
        assert seen is False and listing in ("FileNotFoundError", *([sorted(on_the_way)] if on_the_way else [])), listing
    finally:
        probe.unlink()


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_bpf(sandbox):
    result = run(sandbox, """
        attr = ctypes.create_string_buffer(bytes([2, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0]) + bytes(56))
        sys_("bpf", 0, attr, 72)                 # BPF_MAP_CREATE, an array map
    """)
    fd, err = value(result)
    assert fd == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_userfaultfd(sandbox):
    """userfaultfd (user-mode only is allowed to anyone): the race-widening tool of kernel exploits."""
    result = run(sandbox, "sys_('userfaultfd', 1 | os.O_CLOEXEC)")
    fd, err = value(result)
    assert fd == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_perf_event_open(sandbox):
    result = run(sandbox, """
        attr = bytearray(112)
        attr[0:4] = (1).to_bytes(4, 'little')    # PERF_TYPE_SOFTWARE, CPU clock
        attr[4:8] = (112).to_bytes(4, 'little')
        attr[40] = 0x60                           # exclude_kernel, exclude_hv: allowed at paranoid 2
        buf = ctypes.create_string_buffer(bytes(attr), 112)
        sys_('perf_event_open', buf, 0, -1, -1, 0)
    """)
    fd, err = value(result)
    assert fd == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_keyring_shared_between_sessions(sandbox):
    """Session A stores a key in the uid's keyring; session B (same uid) must not read it."""
    name = f"agentmesh-attack-{secrets.token_hex(4)}".encode()
    payload = secrets.token_hex(8)
    added = value(run(sandbox, f"sys_('add_key', b'user', {name!r}, {payload.encode()!r}, {len(payload)}, -4)",
                      session="keys-a"))
    result = run(sandbox, f"""
        key, err = sys_('request_key', b'user', {name!r}, None, 0)
        data = b''
        if key > 0:
            buf = ctypes.create_string_buffer(256)
            n = libc.syscall(NR['keyctl'], 11, key, buf, 256)   # KEYCTL_READ
            data = buf.raw[:max(n, 0)]
            libc.syscall(NR['keyctl'], 3, key)                 # KEYCTL_REVOKE: clean up after a success
        (key, err, data)
    """, session="keys-b")
    key, err, data = value(result)
    assert payload.encode() not in data
    assert added[0] == -1 and added[1] in (errno.EPERM, errno.EACCES) and key == -1


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_ptrace_own_child(sandbox):
    """ptrace (the classic way around a seccomp filter on older kernels) must fail even on its own child."""
    result = run(sandbox, """
        import signal, time
        pid = os.fork()
        if pid == 0:
            time.sleep(30); os._exit(0)
        try:
            attached = sys_('ptrace', 16, pid, 0, 0)   # PTRACE_ATTACH
        finally:
            os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
        attached
    """)
    done, err = value(result)
    assert done == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_process_vm_readv(sandbox):
    result = run(sandbox, """
        import signal, time
        buffer = ctypes.create_string_buffer(b'parent-copy-of-the-buffer', 32)
        pid = os.fork()
        if pid == 0:
            buffer.value = b'child-secret-in-its-memory'
            time.sleep(30); os._exit(0)
        time.sleep(0.3)
        class iovec(ctypes.Structure):
            _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
        target = ctypes.create_string_buffer(32)
        local, remote = iovec(ctypes.addressof(target), 32), iovec(ctypes.addressof(buffer), 32)
        try:
            n, err = sys_('process_vm_readv', pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
        finally:
            os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
        (n, err, target.value)
    """)
    n, err, data = value(result)
    assert b"child-secret" not in data
    assert n == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_unshare_user_namespace(sandbox):
    """A new user namespace makes the code root inside it: the door to much of the kernel's attack surface."""
    result = run(sandbox, """
        import signal
        outcome = [sys_('unshare', 0x10000000)]                  # CLONE_NEWUSER
        pid = libc.syscall(NR['clone'], 0x10000000 | signal.SIGCHLD, 0, 0, 0, 0)
        if pid == 0:
            os._exit(0)
        if pid > 0:
            os.waitpid(pid, 0)
        outcome.append((pid, ctypes.get_errno() if pid < 0 else 0))
        outcome
    """)
    for done, err in value(result):
        assert done == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_mount_in_own_namespace(sandbox):
    """mount(), after trying to become root of a user namespace of its own."""
    result = run(sandbox, """
        sys_('unshare', 0x10000000 | 0x00020000)                 # CLONE_NEWUSER | CLONE_NEWNS
        target = os.getcwd().encode()
        sys_('mount', b'none', target, b'tmpfs', 0, None)
    """)
    done, err = value(result)
    assert done == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_setns(sandbox):
    result = run(sandbox, """
        fd = os.open('/proc/self/ns/uts', os.O_RDONLY)
        sys_('setns', fd, 0)
    """)
    done, err = value(result)
    assert done == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_open_by_handle_at(sandbox):
    """The 'shocker' escape: open a file by handle, past every path check."""
    result = run(sandbox, """
        handle = ctypes.create_string_buffer((128).to_bytes(4, 'little') + bytes(132))
        mount_id = ctypes.c_int()
        named = sys_('name_to_handle_at', -100, b'/proc/self/exe', handle, ctypes.byref(mount_id), 0)
        opened = sys_('open_by_handle_at', os.open('/', os.O_RDONLY), handle, 0)
        opened
    """)
    fd, err = value(result)
    assert fd == -1 and err in (errno.EPERM, errno.EACCES)


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_kexec_load(sandbox):
    result = run(sandbox, "sys_('kexec_load', 0, 0, None, 0)")
    done, err = value(result)
    assert done == -1 and err in (errno.EPERM, errno.EACCES, errno.ENOSYS)  # ENOSYS: a kernel built without it


@pytest.mark.parametrize("layer", SECCOMP, indirect=True)
def test_attack_python_init_module(sandbox):
    result = run(sandbox, "sys_('init_module', None, 0, b'')")
    done, err = value(result)
    assert done == -1 and err in (errno.EPERM, errno.EACCES, errno.ENOSYS)  # ENOSYS: a kernel built without it


# -- resources: per session, not per process or per uid (cgroups) ---------------------------------

@pytest.fixture(scope="module")
def small_box(tmp_path_factory):
    box = PythonSandbox(timeout=30, memory_mb=256, max_processes=32, root_dir=tmp_path_factory.mktemp("small"))
    if box.mode == "process":
        box.close()
        pytest.skip("no OS isolation on this machine (mode=process)")
    yield box
    box.close()


@pytest.mark.parametrize("layer", ["whole"])
def test_attack_python_memory_forks_and_memfd(small_box, layer):
    """Three forks of 160 MB each (under memory_mb = 256 each) plus 160 MB of memfd pages: the session
    must never hold more than its memory_mb at once."""
    result = small_box.run(textwrap.dedent("""
        import os, time, signal
        chunk = 160 * 1024 * 1024
        read, write = os.pipe()
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                try:
                    block = bytearray(b'x') * chunk          # every page touched
                    os.write(write, b'1')
                    time.sleep(20)
                finally:
                    os._exit(0)
            children.append(pid)
        memfd_held = 0
        try:
            fd = os.memfd_create('attack')
            for _ in range(160):
                os.write(fd, b'm' * 1024 * 1024)
                memfd_held += 1
        except OSError as exc:
            print(exc)
        deadline = time.time() + 8
        ready = 0
        os.set_blocking(read, False)
        while time.time() < deadline and ready < 3:
            try:
                ready += len(os.read(read, 8))
            except BlockingIOError:
                time.sleep(0.1)
        time.sleep(1)
        alive = 0
        for pid in children:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                alive += 1
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        alive * 160 + memfd_held
    """), session="memory")
    if result.restarted:  # the kernel itself was killed: nothing is held
        return
    held = eval(result.result)
    assert held <= small_box.memory_mb, f"the session held {held} MB at once"


@pytest.mark.parametrize("layer", ["whole"])
def test_attack_python_fork_bomb_starves_other_session(small_box, layer):
    """Session A holds as many processes as it may; session B must still fork."""
    held = small_box.run(textwrap.dedent("""
        import os, time
        kids = 0
        while kids < 200:
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(60); os._exit(0)
            kids += 1
        kids
    """), session="bomb", timeout=30)
    try:
        assert held.result is not None and int(held.result) >= 8, held
        other = small_box.run("import os\npid = os.fork()\nif pid == 0: os._exit(0)\nos.waitpid(pid, 0)[1]", session="victim")
        assert other.error is None and other.result == "0", other
    finally:
        small_box.reset("bomb")


# -- the filter itself, run on an emulator of classic BPF: it allows exactly the list ---------------

def _run_bpf(program: bytes, nr: int, arch: int, args=(0, 0)) -> int:
    import struct

    insns = [struct.unpack_from("HBBI", program, i) for i in range(0, len(program), 8)]
    data = struct.pack("iIQ6Q", nr, arch, 0, *args, 0, 0, 0, 0)
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:
            acc = struct.unpack_from("I", data, k)[0]
        elif code == 0x54:
            acc &= k
        elif code == 0x06:
            return k
        else:
            taken = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        pc += 1


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_seccomp_program_allows_exactly_the_allowlist(machine):
    from agentmesh.tools._kernel import AUDIT_ARCH, SPECIAL, allowed_syscalls, seccomp_program

    program, arch = seccomp_program(machine), AUDIT_ARCH[machine]
    allowed = set(allowed_syscalls(machine).values())
    allow, eperm = 0x7FFF0000, 0x00050001
    for nr in range(0, 600):
        if nr in SPECIAL[machine].values():
            continue
        assert _run_bpf(program, nr, arch) == (allow if nr in allowed else eperm), nr
    assert _run_bpf(program, 0, 0x40000003) == eperm                        # i386 ABI
    assert _run_bpf(program, 0x40000000 + 1, arch) == eperm                # x32
    clone, clone3, socketpair = (SPECIAL[machine][k] for k in ("clone", "clone3", "socketpair"))
    assert _run_bpf(program, clone, arch, (0x01200011, 0)) == allow          # what fork() passes
    assert _run_bpf(program, clone, arch, (0x10000000 | 17, 0)) == eperm     # CLONE_NEWUSER
    assert _run_bpf(program, clone3, arch) == 0x00050000 | 38               # ENOSYS: libc falls back to clone
    assert _run_bpf(program, socketpair, arch, (1, 1 | 0x80000)) == allow   # AF_UNIX, SOCK_STREAM|CLOEXEC
    assert _run_bpf(program, socketpair, arch, (1, 2)) == eperm             # SOCK_DGRAM could sendto a path
    assert _run_bpf(program, socketpair, arch, (2, 1)) == eperm


# -- fail closed, and say what holds --------------------------------------------------------------

def test_python_refuses_to_run_code_where_the_filter_cannot_be_installed(monkeypatch, tmp_path):
    from agentmesh.errors import ToolError
    from agentmesh.tools.python_repl import make_python_tool

    box = PythonSandbox(timeout=10, root_dir=tmp_path)
    monkeypatch.setattr("agentmesh.tools.python_repl.platform.machine", lambda: "riscv64")  # no table for it
    try:
        with pytest.raises(ToolError, match=r"cannot isolate code here: seccomp unavailable \(no system call table "
                                            r"for this machine, riscv64\).*allow_without_seccomp=True"):
            make_python_tool(box).invoke({"code": "open('ran', 'w').write('x')"})
        assert not (box.scratch_dir("default") / "ran").exists()
    finally:
        box.close()


def test_python_runs_without_the_filter_only_when_told_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr("agentmesh.tools.python_repl.platform.machine", lambda: "riscv64")
    box = PythonSandbox(timeout=10, root_dir=tmp_path, allow_without_seccomp=True)
    try:
        assert box.run("6 * 7").result == "42"
        assert "NO filter" in box.isolation["syscalls"] and "allow_without_seccomp" in box.isolation["syscalls"]
    finally:
        box.close()


def test_python_session_cgroup_is_removed_with_the_session(tmp_path):
    box = PythonSandbox(timeout=10, root_dir=tmp_path)
    if not (box._cgroups.memory or box._cgroups.pids):
        box.close()
        pytest.skip(f"no per-session cgroups here: {box.isolation['resources']}")
    box.run("1", session="a")
    folders = list(box._sessions["a"].cgroups)
    assert folders and all((folder / "cgroup.procs").read_text().split() for folder in folders)
    box.reset("a")
    assert not any(folder.exists() for folder in folders)
    box.close()
