"""The code that runs inside the sandbox process (sent with ``python -I -c``). Kept as source
text: it must not import agentmesh, and it runs after the OS isolation is in place.

Protocol: one JSON request per line on stdin (``{"id": ..., "code": ...}``); one JSON reply
per line on the file descriptor given as argv[1], echoing the request's id. Standard output and
error of the code are captured per call, capped at argv[2] characters. matplotlib figures come
back inside the reply as PNG bytes (base64, at most argv[3] bytes per call): the scratch folder
is a private tmpfs the host cannot see.

The user's code runs in this same process, so it *can* write to the reply descriptor. What it
writes is treated as what it is, the code's own output: the host accepts only a reply carrying
the id of the call in progress (a random id the code cannot know before that call), drops every
other line, and checks every figure itself (a PNG, under a name it chose, in a folder of its own).
"""

SECCOMP_SOURCE = r'''
def _refuse_sockets():
    """Install a seccomp filter: socket() fails with EACCES (socketpair stays), foreign ABIs fail too."""
    import ctypes, platform, struct
    arch = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}.get(platform.machine())
    if arch is None:
        return False
    audit_arch, nr_socket = arch
    deny, allow = 0x00050000 | 13, 0x7FFF0000
    program = [
        (0x20, 0, 0, 4), (0x15, 1, 0, audit_arch), (0x06, 0, 0, deny),  # another ABI (int 0x80): refused
        (0x20, 0, 0, 0), (0x35, 2, 0, 0x40000000),                        # x32 system calls: refused
        (0x15, 1, 0, nr_socket), (0x06, 0, 0, allow), (0x06, 0, 0, deny),
    ]
    raw = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(len(program), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
_refuse_sockets()  # where seccomp is missing, the namespaces (or, in process mode, the audit hook) remain
del _refuse_sockets
'''

KERNEL_SOURCE = r'''
import ast, base64, io, json, os, sys, traceback
reply_fd, cap, figure_cap = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
reply = os.fdopen(reply_fd, "w", buffering=1)
scope = {"__name__": "__main__", "__builtins__": __builtins__}
figures_seen = 0

class Capped(io.TextIOBase):
    def __init__(self):
        self.parts, self.size, self.dropped = [], 0, 0
    def writable(self):
        return True
    def write(self, text):
        text = str(text)
        room = cap - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)
    def value(self):
        out = "".join(self.parts)
        if self.dropped:
            out += "\n... (output cut: %d more characters)" % self.dropped
        return out

def save_figures():
    """The open figures as (name, base64 PNG), at most figure_cap bytes in all; then closed."""
    global figures_seen
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return [], ""
    figures, used, note = [], 0, ""
    for number in plt.get_fignums():
        figures_seen += 1
        buffer = io.BytesIO()
        plt.figure(number).savefig(buffer, format="png")
        data = buffer.getvalue()
        if used + len(data) > figure_cap:
            note += "figure %d not returned: the figures of one call may hold %d bytes\n" % (figures_seen, figure_cap)
            continue
        used += len(data)
        figures.append({"name": "figure-%d.png" % figures_seen, "png": base64.b64encode(data).decode("ascii")})
    plt.close("all")
    return figures, note

for line in sys.stdin:
    request = json.loads(line)
    out, err = Capped(), Capped()
    sys.stdout, sys.stderr = out, err
    result, error = None, None
    try:
        tree = ast.parse(request["code"], "<agent>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<agent>", "exec"), scope)
        if last is not None:
            value = eval(compile(last, "<agent>", "eval"), scope)
            if value is not None:
                result = repr(value)[:cap]
    except BaseException as exc:
        if isinstance(exc, SystemExit) and not exc.code:
            error = None
        else:
            lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
            error = "".join(line for line in lines if 'File "<string>"' not in line)[-4000:]
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    note = ""
    try:
        figures, note = save_figures()
    except Exception as exc:
        figures, error = [], (error or "") + "\nsaving figures failed: %r" % (exc,)
    reply.write(json.dumps({"id": request["id"], "stdout": out.value(), "stderr": err.value() + note,
                            "result": result, "error": error, "figures": figures}) + "\n")
'''
