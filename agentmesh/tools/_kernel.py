"""The code that runs inside the sandbox process (sent with ``python -I -c``). Kept as source
text: it must not import agentmesh, and it runs after the OS isolation is in place.

Protocol: one JSON request per line on stdin ({"code": ...}); one JSON reply per line on the
file descriptor given as argv[1]. Standard output and error of the code are captured per call,
capped at argv[2] characters.
"""

KERNEL_SOURCE = r'''
import ast, io, json, os, sys, traceback
reply_fd, cap = int(sys.argv[1]), int(sys.argv[2])
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
    global figures_seen
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    paths = []
    for number in plt.get_fignums():
        figures_seen += 1
        name = "figure-%d.png" % figures_seen
        plt.figure(number).savefig(name)
        paths.append(os.path.abspath(name) if os.path.isabs(os.getcwd()) else name)
    plt.close("all")
    return [p.rsplit("/", 1)[-1] for p in paths]

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
    try:
        figures = save_figures()
    except Exception as exc:
        figures, error = [], (error or "") + "\nsaving figures failed: %r" % (exc,)
    reply.write(json.dumps({"stdout": out.value(), "stderr": err.value(), "result": result,
                            "error": error, "figures": figures}) + "\n")
'''
