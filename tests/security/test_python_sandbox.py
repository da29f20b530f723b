"""Attacks on the python tool. Each is contained: no harm outside the sandbox, the agent lives."""

from __future__ import annotations

import os
import textwrap
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
    target = Path("/tmp/agentmesh-sandbox-escape.txt")
    target.unlink(missing_ok=True)
    result = run(sandbox, f"open({str(target)!r}, 'w').write('x'); 'written'")
    assert failed_with(result, "Read-only", "Permission")
    assert not target.exists()


def test_attack_python_replace_site_packages(sandbox):
    import json as victim

    result = run(sandbox, f"open({victim.__file__!r}, 'a').write('raise SystemExit')")
    assert failed_with(result, "Read-only", "Permission")


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
    result = run(sandbox, "import os; os.listdir('/root')")
    assert failed_with(result, "Permission")


def test_attack_python_open_tcp_socket(sandbox):
    result = run(sandbox, "import socket; socket.create_connection(('127.0.0.1', 5432), timeout=2)")
    assert failed_with(result, "unreachable", "refused", "Errno")


def test_attack_python_dns_lookup(sandbox):
    result = run(sandbox, "import socket; socket.getaddrinfo('pypi.org', 443)")
    assert failed_with(result, "gaierror", "Errno", "resolution")


def test_attack_python_http_request(sandbox):
    result = run(sandbox, "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6379', timeout=2)")
    assert failed_with(result, "URLError", "unreachable", "Errno")


def test_attack_python_unix_socket_of_local_database(sandbox):
    result = run(sandbox, """
        import socket, glob
        paths = glob.glob('/run/postgresql/.s.PGSQL.*') + glob.glob('/var/run/postgresql/.s.PGSQL.*') + glob.glob('/run/mysqld/*.sock')
        for p in paths:
            s = socket.socket(socket.AF_UNIX); s.connect(p)
        len(paths)
    """)
    assert result.result == "0" or failed_with(result, "Errno")


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
    assert result.restarted or failed_with(result, "RecursionError", "MemoryError")
    assert run(sandbox, "'alive'", session="crash").result == "'alive'"


def test_attack_python_variables_do_not_leak_between_sessions(sandbox):
    run(sandbox, "stolen = 'thread A data'", session="thread-a")
    result = run(sandbox, "stolen", session="thread-b")
    assert failed_with(result, "NameError")


def test_attack_python_su_to_root(sandbox):
    result = run(sandbox, "import subprocess; subprocess.run(['su', '-c', 'id'], input='', capture_output=True, text=True).returncode")
    assert result.result not in (None, "0")
