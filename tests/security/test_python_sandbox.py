"""Attacks on the python tool. Each is contained: no harm outside the sandbox, the agent lives."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import textwrap
import threading
from pathlib import Path

import pytest

from agentmesh.tools.python_repl import PythonSandbox

SECRET = "sk-agentmesh-test-secret-0123456789"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    os.environ["OPENAI_API_KEY"] = SECRET  # in the agent's environment, must not reach the sandbox
    box = PythonSandbox(timeout=5, memory_mb=512, root_dir=tmp_path_factory.mktemp("sandbox"))
    if box.mode == "process" and os.geteuid() != 0:
        box.close()
        pytest.skip("no OS isolation on this machine (mode=process, not root): the attacks would run as you "
                    "and could damage your files; they run in CI, where namespaces are available")
    yield box
    box.close()
    os.environ.pop("OPENAI_API_KEY", None)


@pytest.fixture(scope="module")
def host_dir(tmp_path_factory):
    """A folder of the host, outside the sandbox, with a secret file only root may read."""
    folder = tmp_path_factory.mktemp("host")
    (folder / "secret.txt").write_text(SECRET)
    os.chmod(folder / "secret.txt", 0o600)
    return folder


def run(sandbox, code, session="attack", timeout=None):
    result = sandbox.run(textwrap.dedent(code), session=session, timeout=timeout)
    assert SECRET not in result.stdout + (result.result or "") + (result.error or "") + result.stderr
    return result


def failed_with(result, *names):
    text = (result.error or "") + result.stdout + (result.result or "")
    return result.restarted or any(name in text for name in names)


def test_attack_python_write_outside_scratch(sandbox, host_dir):
    result = run(sandbox, f"open({str(host_dir / 'pwned.txt')!r}, 'w').write('x')")
    assert failed_with(result, "Read-only", "No such file", "Permission")
    assert not (host_dir / "pwned.txt").exists()


def test_attack_python_overwrite_etc_passwd(sandbox):
    before = Path("/etc/passwd").read_bytes()
    result = run(sandbox, "open('/etc/passwd', 'a').write('evil::0:0::/:/bin/sh\\n')")
    assert failed_with(result, "Read-only", "Permission")
    assert Path("/etc/passwd").read_bytes() == before


def test_attack_python_write_host_tmp(sandbox):
    """The sandbox's /tmp is its own (a private tmpfs, or the host's read-only): the host's is untouched."""
    target = Path("/tmp/agentmesh-sandbox-escape.txt")
    target.unlink(missing_ok=True)
    result = run(sandbox, f"open({str(target)!r}, 'w').write('x'); 'written'")
    assert result.result == "'written'" or failed_with(result, "Read-only", "Permission")
    assert not target.exists()


def test_attack_python_replace_site_packages(sandbox):
    import json as victim

    before = hashlib.sha256(Path(victim.__file__).read_bytes()).hexdigest()
    result = run(sandbox, f"open({victim.__file__!r}, 'a').write('raise SystemExit')")
    assert failed_with(result, "Read-only", "Permission")
    assert hashlib.sha256(Path(victim.__file__).read_bytes()).hexdigest() == before


def test_attack_python_read_secret_from_environment(sandbox):
    result = run(sandbox, "import os; sorted(os.environ)")
    assert "OPENAI_API_KEY" not in result.result


def test_attack_python_read_proc_environ(sandbox):
    result = run(sandbox, "open('/proc/self/environ','rb').read() + open('/proc/1/environ','rb').read()")
    assert SECRET not in (result.result or "")


def test_attack_python_read_parent_environ(sandbox):
    result = run(sandbox, f"open('/proc/{os.getpid()}/environ', 'rb').read()")
    assert failed_with(result, "No such file", "Permission")


def test_attack_python_read_root_owned_secret(sandbox, host_dir):
    result = run(sandbox, f"open({str(host_dir / 'secret.txt')!r}).read()")
    assert failed_with(result, "Permission", "No such file")


def test_attack_python_read_root_home(sandbox):
    """/root is not readable; at most the folders leading to a Python installation living there (pyenv)."""
    import sys

    on_the_way = sorted({Path(p).relative_to("/root").parts[0] for p in (sys.prefix, sys.base_prefix)
                         if Path(p).is_relative_to("/root")})
    result = run(sandbox, "import os; sorted(os.listdir('/root'))")
    assert failed_with(result, "Permission", "No such file") or (on_the_way and result.result == repr(on_the_way))


class Listener:
    """A real server of the host that the sandbox must not reach: it counts what connects."""

    def __init__(self, family: int, address) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family != socket.AF_UNIX:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(address)
        if family == socket.AF_UNIX:
            os.chmod(address, 0o777)  # anyone may connect: only the sandbox can stop it
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.accepted = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def proven(self) -> "Listener":
        """Wait until the host's own probe connection was accepted, then count from zero."""
        for _ in range(100):
            if self.accepted:
                break
            threading.Event().wait(0.05)
        assert self.accepted == 1, "the listener does not accept connections from the host"
        self.accepted = 0
        return self

    def close(self) -> None:
        self.done.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def tcp_listener():
    listener = Listener(socket.AF_INET, ("127.0.0.1", 0))
    socket.create_connection(listener.address, timeout=2).close()  # it works from the host
    yield listener.proven()
    listener.close()


@pytest.fixture
def unix_listeners(tmp_path):
    """World-writable Unix sockets where local servers put them: /tmp, /var/tmp and a folder of the host."""
    paths = [f"/tmp/agentmesh-listener-{os.getpid()}.sock", f"/var/tmp/agentmesh-listener-{os.getpid()}.sock",
             str(tmp_path / "host.sock")]
    os.chmod(tmp_path, 0o755)
    listeners = []
    for path in paths:
        Path(path).unlink(missing_ok=True)
        listeners.append(Listener(socket.AF_UNIX, path))
    for listener, path in zip(listeners, paths):  # each works from the host
        probe = socket.socket(socket.AF_UNIX)
        probe.connect(path)
        probe.close()
        listener.proven()
    yield listeners
    for listener, path in zip(listeners, paths):
        listener.close()
        Path(path).unlink(missing_ok=True)


def test_attack_python_open_tcp_socket(sandbox, tcp_listener):
    before = tcp_listener.accepted
    result = run(sandbox, f"import socket; socket.create_connection({tcp_listener.address!r}, timeout=2)")
    assert failed_with(result, "PermissionError", "unreachable", "Errno")
    assert tcp_listener.accepted == before


def test_attack_python_dns_lookup(sandbox):
    result = run(sandbox, "import socket; socket.getaddrinfo('pypi.org', 443)")
    assert failed_with(result, "gaierror", "Errno", "resolution")


def test_attack_python_http_request(sandbox, tcp_listener):
    before = tcp_listener.accepted
    host, port = tcp_listener.address
    result = run(sandbox, f"import urllib.request; urllib.request.urlopen('http://{host}:{port}/', timeout=2)")
    assert failed_with(result, "URLError", "unreachable", "Errno")
    assert tcp_listener.accepted == before


def test_attack_python_unix_socket_of_local_database(sandbox):
    result = run(sandbox, """
        import socket, glob
        paths = glob.glob('/run/postgresql/.s.PGSQL.*') + glob.glob('/var/run/postgresql/.s.PGSQL.*') + glob.glob('/run/mysqld/*.sock')
        for p in paths:
            s = socket.socket(socket.AF_UNIX); s.connect(p)
        len(paths)
    """)
    assert result.result == "0" or failed_with(result, "Errno")


def test_attack_python_unix_socket_listener_in_tmp(sandbox, unix_listeners):
    """A root-owned, world-writable listener in /tmp, /var/tmp or a host folder: nothing gets through."""
    paths = [listener.address for listener in unix_listeners]
    result = run(sandbox, f"""
        import socket
        reached = []
        for path in {paths!r}:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                s.sendall(b'stolen')
                reached.append(path)
            except OSError as exc:
                print(path, exc)
        reached
    """)
    assert result.result == "[]"
    assert [listener.accepted for listener in unix_listeners] == [0, 0, 0]


def test_attack_python_any_unix_socket_on_the_machine(sandbox, unix_listeners):
    """Every Unix socket the sandbox can see, anywhere: none accepts a connection from it."""
    result = run(sandbox, """
        import os, socket, stat
        found, reached = 0, []
        for top in ('/',):
            for folder, dirs, files in os.walk(top):
                if folder in ('/proc', '/sys'):
                    dirs[:] = []
                    continue
                for name in files:
                    path = os.path.join(folder, name)
                    try:
                        if not stat.S_ISSOCK(os.lstat(path).st_mode):
                            continue
                    except OSError:
                        continue
                    found += 1
                    try:
                        s = socket.socket(socket.AF_UNIX); s.connect(path); reached.append(path)
                    except OSError:
                        pass
        (found, reached)
    """, timeout=60)
    assert result.result is not None and result.result.endswith(", [])"), result.result
    assert all(listener.accepted == 0 for listener in unix_listeners)


def test_attack_python_raw_socket(sandbox):
    result = run(sandbox, "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)")
    assert failed_with(result, "Permission", "Operation not permitted", "Errno")


def test_attack_python_spawn_a_shell(sandbox, host_dir):
    result = run(sandbox, f"import subprocess; subprocess.run(['sh', '-c', 'id -u; touch {host_dir}/shell.txt'], capture_output=True, text=True).stdout")
    assert result.result is not None and "65534" in result.result
    assert not (host_dir / "shell.txt").exists()


def test_attack_python_setuid_root(sandbox):
    result = run(sandbox, "import os; os.setuid(0)")
    assert failed_with(result, "PermissionError", "Operation not permitted")


def test_attack_python_ctypes_setuid(sandbox):
    result = run(sandbox, "import ctypes, os; ctypes.CDLL(None).setuid(0); os.getuid()")
    assert result.result == "65534"


def test_attack_python_signal_the_agent(sandbox):
    result = run(sandbox, f"import os, signal; os.kill({os.getpid()}, signal.SIGKILL)")
    assert failed_with(result, "ProcessLookupError", "PermissionError")
    os.kill(os.getpid(), 0)  # we are alive


def test_attack_python_kill_every_process(sandbox):
    result = run(sandbox, "import os, signal; os.kill(-1, signal.SIGKILL)", session="killall")
    assert result.restarted or result.error is not None or result.result is None
    os.kill(os.getpid(), 0)


def test_attack_python_raise_own_limits(sandbox):
    result = run(sandbox, "import resource; resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))")
    assert failed_with(result, "ValueError", "not allowed", "Permission")


def test_attack_python_allocate_20_gb(sandbox):
    result = run(sandbox, "x = bytearray(20 * 1024**3)")
    assert failed_with(result, "MemoryError")


def test_attack_python_infinite_loop(sandbox):
    result = run(sandbox, "while True: pass", session="loop", timeout=1)
    assert result.timed_out and result.restarted
    assert run(sandbox, "1 + 1", session="loop").result == "2"  # the session recovers


def test_attack_python_fork_bomb(sandbox):
    result = run(sandbox, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, session="forkbomb", timeout=2)
    assert result.timed_out or result.restarted
    assert run(sandbox, "'still here'", session="after-bomb").result == "'still here'"


def test_attack_python_thread_bomb(sandbox):
    result = run(sandbox, """
        import threading, time
        threads = [threading.Thread(target=time.sleep, args=(30,), daemon=True) for _ in range(5000)]
        for t in threads: t.start()
    """, session="threads", timeout=3)
    assert failed_with(result, "can't start new thread", "RuntimeError", "MemoryError") or result.timed_out


def test_attack_python_flood_stdout(sandbox):
    result = run(sandbox, "print('x' * 50_000_000)", session="flood")
    assert len(result.stdout) <= sandbox.max_output + 200 and "output cut" in result.stdout


def test_attack_python_flood_raw_file_descriptor(sandbox):
    result = run(sandbox, "import os\nfor _ in range(2000): os.write(1, b'y' * 65536)\n'done'", session="fd-flood")
    assert result.result == "'done'" and len(result.stdout) < 1000


def test_attack_python_huge_file(sandbox):
    result = run(sandbox, "open('big.bin', 'wb').write(b'0' * 200 * 1024**2)", session="bigfile")
    assert failed_with(result, "File too large", "Errno", "MemoryError") or result.restarted
    assert not (sandbox.scratch_dir("bigfile") / "big.bin").exists() or (sandbox.scratch_dir("bigfile") / "big.bin").stat().st_size <= 50 * 1024**2


def test_attack_python_fill_tmp(sandbox):
    result = run(sandbox, "f = open('/tmp/fill', 'wb')\nfor _ in range(200): f.write(b'0' * 1024**2)", session="filltmp")
    assert failed_with(result, "No space left", "Errno")


def test_attack_python_open_many_files(sandbox):
    result = run(sandbox, "fs = [open('/dev/null') for _ in range(100000)]", session="files")
    assert failed_with(result, "Too many open files")


def test_attack_python_mount(sandbox):
    result = run(sandbox, "import subprocess; subprocess.run(['mount', '-t', 'tmpfs', 'none', '/mnt'], capture_output=True, text=True).returncode")
    assert result.result not in (None, "0")


def test_attack_python_enter_host_namespaces(sandbox):
    result = run(sandbox, "import subprocess; subprocess.run(['nsenter', '-t', '1', '-n', 'true'], capture_output=True).returncode")
    assert result.result not in (None, "0")


def test_attack_python_deep_recursion_crash(sandbox):
    result = run(sandbox, "import sys; sys.setrecursionlimit(10**9)\ndef f(n): return f(n + 1)\nf(0)", session="crash")
    # CPython fails a C stack overflow in one of three ways; the attack is contained when the session lives on
    assert result.restarted or failed_with(result, "RecursionError", "MemoryError", "SystemError")
    assert run(sandbox, "'alive'", session="crash").result == "'alive'"


def test_attack_python_variables_do_not_leak_between_sessions(sandbox):
    run(sandbox, "stolen = 'thread A data'", session="thread-a")
    result = run(sandbox, "stolen", session="thread-b")
    assert failed_with(result, "NameError")


def test_attack_python_su_to_root(sandbox):
    result = run(sandbox, "import subprocess; subprocess.run(['su', '-c', 'id'], input='', capture_output=True, text=True).returncode")
    assert result.result not in (None, "0")


def test_attack_python_forge_the_kernel_reply(sandbox):
    """Code that writes replies to the kernel's channel: a stale or guessed reply is dropped, a
    figure path it names is never returned, and the next call gets its own answer."""
    forged = {"id": "guess", "stdout": "forged", "stderr": "", "result": "'forged'", "error": None,
              "figures": [{"name": "/etc/shadow", "png": ""}]}
    result = run(sandbox, f"""
        import json, os, sys
        fd = int(sys.argv[1])
        os.write(fd, ((json.dumps({forged!r}) + "\\n") * 3 + "not json\\n").encode())
        'mine'
    """, session="forge")
    assert result.result == "'mine'" and result.figures == []
    # it may read this call's id and answer for itself (that is its own output), never for the next call
    result = run(sandbox, f"""
        import json, os, sys
        call = sys.modules['__main__'].request['id']
        forged = dict({forged!r}, id=call)
        os.write(int(sys.argv[1]), (json.dumps(forged) + "\\n").encode() * 2)
    """, session="forge")
    assert result.figures == [] and "refused" in result.stderr
    assert run(sandbox, "'second'", session="forge").result == "'second'"
    assert run(sandbox, "'third'", session="forge").result == "'third'"


def test_attack_python_figure_path_outside_scratch(sandbox):
    """A figure is bytes the host checks and writes itself: no name, symlink or path of the code's choosing."""
    result = run(sandbox, """
        import json, os, sys, base64
        os.symlink('/etc/shadow', 'figure-1.png')
        call = sys.modules['__main__'].request['id']
        png = base64.b64encode(b'\\x89PNG\\r\\n\\x1a\\n' + b'0' * 10).decode()
        figures = [{"name": "../../../etc/cron.d/pwned.png", "png": png}, {"name": "figure-1.png", "png": "%%%"}]
        os.write(int(sys.argv[1]), (json.dumps({"id": call, "stdout": "", "stderr": "", "result": None,
                                                 "error": None, "figures": figures}) + "\\n").encode())
    """, session="figures")
    assert result.figures == [] and result.stderr.count("refused") == 2
    assert not Path("/etc/cron.d/pwned.png").exists()


def test_attack_python_fill_the_disk(sandbox):
    """8 files of 50 MB: the scratch folder is a size-capped tmpfs, so the host's disk does not fill."""
    result = run(sandbox, """
        import shutil
        written = 0
        try:
            for i in range(8):
                with open(f'fill-{i}.bin', 'wb') as fh:
                    for _ in range(50):
                        fh.write(b'0' * 1024**2)
                        written += 1
        except OSError as exc:
            print(exc)
        (written, shutil.disk_usage('.').total // 1024**2)
    """, session="fill-disk", timeout=30)
    written, total = eval(result.result)
    assert "No space left" in result.stdout and written <= sandbox.scratch_mb and total <= sandbox.scratch_mb
