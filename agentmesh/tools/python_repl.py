"""python: run code in a separate, limited process and return what it printed.

The code never runs inside the agent's process. Each call starts ``python -I`` in a fresh
scratch folder with an environment holding no secrets (only PATH and locale), resource
limits on CPU seconds, memory, file size and open files, a wall-clock timeout that kills the
whole process group, and a cap on returned output. The value of a final expression is
printed, as in a REPL.

What this does not yet protect against: network access (no network namespace yet) and reads
of world-readable files outside the scratch folder. Session kernels that keep variables
between calls come later; each call starts clean.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.errors import ToolError
from agentmesh.graphs.state import Citation

__all__ = ["PythonSandbox", "SandboxResult", "make_python_tool"]

# Runs in the child: executes the code from stdin and echoes the last expression's value.
_RUNNER = r"""
import ast, sys
source = sys.stdin.read()
tree = ast.parse(source, "<agent>", "exec")
last = None
if tree.body and isinstance(tree.body[-1], ast.Expr):
    last = ast.Expression(tree.body.pop().value)
scope = {"__name__": "__main__"}
exec(compile(tree, "<agent>", "exec"), scope)
if last is not None:
    value = eval(compile(last, "<agent>", "eval"), scope)
    if value is not None:
        print(repr(value))
"""

PYTHON_DESCRIPTION = (
    "Run Python 3 code in an isolated sandbox and get back what it prints (the last expression's "
    "value is printed too). Use it for arithmetic, unit conversions and small data processing."
)


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    returncode: int
    timed_out: bool


class PythonSandbox:
    """Runs code in a child process with limits. ``memory_mb`` caps the address space."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        memory_mb: int = 1024,
        max_output: int = 20_000,
        scratch_dir: str | Path | None = None,
    ) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_output = max_output
        self.scratch_dir = Path(scratch_dir) if scratch_dir else None

    def _limits(self) -> None:  # runs in the child between fork and exec
        os.setsid()
        cpu = int(self.timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        mem = self.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (50 * 1024 * 1024, 50 * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def run(self, code: str) -> SandboxResult:
        scratch = Path(tempfile.mkdtemp(prefix="agentmesh-py-", dir=self.scratch_dir))
        env = {"PATH": os.defpath, "HOME": str(scratch), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=scratch,
            env=env,
            preexec_fn=self._limits,
        )
        timed_out = False
        try:
            out, err = proc.communicate(code.encode(), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
        return SandboxResult(self._clip(out), self._clip(err), proc.returncode, timed_out)

    def _clip(self, data: bytes) -> str:
        text = data.decode("utf-8", "replace")
        if len(text) > self.max_output:
            text = text[: self.max_output] + f"\n... (output cut at {self.max_output} characters)"
        return text


class PythonArgs(BaseModel):
    code: str = Field(description="Python 3 source code to run.")


def make_python_tool(sandbox: PythonSandbox) -> BaseTool:
    def run_python(code: str) -> tuple[str, list[dict]]:
        result = sandbox.run(code)
        citation = [Citation(kind="code", ref="python", detail=code).model_dump()]
        if result.timed_out:
            raise ToolError(f"the code ran longer than {sandbox.timeout:g}s and was stopped")
        if result.returncode != 0:
            tail = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
            raise ToolError(f"the code failed: {tail[0]}")
        return result.stdout.strip() or "(no output)", citation

    return StructuredTool.from_function(
        run_python,
        name="python",
        description=PYTHON_DESCRIPTION,
        args_schema=PythonArgs,
        response_format="content_and_artifact",
    )
