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

from __future__ import annotations

import struct

# -- the system call allowlist -------------------------------------------------------------------
# Modelled on Docker's default seccomp profile, cut down to what CPython, numpy and matplotlib use
# (checked under strace: numpy's OpenBLAS calls mbind): no socket() (socketpair() only as AF_UNIX/SOCK_STREAM, whose sendmsg cannot
# name an address), no connect/bind/listen/accept, no io_uring_*, bpf, userfaultfd, perf_event_open,
# keyctl/add_key/request_key, ptrace, process_vm_*, kcmp, mount/umount2/pivot_root/chroot,
# unshare/setns, clone() with a namespace flag, kexec_*, (f)init_module/delete_module,
# name_to_handle_at/open_by_handle_at, SysV IPC (shared with the host), swapon, reboot, acct,
# quotactl, syslog, personality, modify_ldt, iopl/ioperm. Everything else fails with EPERM (Python
# raises PermissionError); clone3() fails with ENOSYS so that the C library falls back to clone(),
# whose flags can be checked. Another ABI (int 0x80, x32) fails too.
SYSCALLS = {
    "x86_64": """
    read:0 write:1 open:2 close:3 stat:4 fstat:5 lstat:6 poll:7 lseek:8 mmap:9 mprotect:10 munmap:11
    brk:12 rt_sigaction:13 rt_sigprocmask:14 rt_sigreturn:15 ioctl:16 pread64:17 pwrite64:18 readv:19
    writev:20 access:21 pipe:22 select:23 sched_yield:24 mremap:25 msync:26 mincore:27 madvise:28 dup:32
    dup2:33 pause:34 nanosleep:35 getitimer:36 alarm:37 setitimer:38 getpid:39 sendfile:40 sendto:44
    recvfrom:45 sendmsg:46 recvmsg:47 shutdown:48 getsockname:51 getpeername:52 setsockopt:54
    getsockopt:55 fork:57 vfork:58 execve:59 exit:60 wait4:61 kill:62 uname:63 fcntl:72 flock:73
    fsync:74 fdatasync:75 truncate:76 ftruncate:77 getdents:78 getcwd:79 chdir:80 fchdir:81 rename:82
    mkdir:83 rmdir:84 creat:85 link:86 unlink:87 symlink:88 readlink:89 chmod:90 fchmod:91 chown:92
    fchown:93 lchown:94 umask:95 gettimeofday:96 getrlimit:97 getrusage:98 sysinfo:99 times:100
    getuid:102 getgid:104 setuid:105 setgid:106 geteuid:107 getegid:108 setpgid:109 getppid:110
    getpgrp:111 setsid:112 setreuid:113 setregid:114 getgroups:115 setgroups:116 setresuid:117
    getresuid:118 setresgid:119 getresgid:120 getpgid:121 setfsuid:122 setfsgid:123 getsid:124
    capget:125 capset:126 rt_sigpending:127 rt_sigtimedwait:128 rt_sigqueueinfo:129 rt_sigsuspend:130
    sigaltstack:131 utime:132 mknod:133 statfs:137 fstatfs:138 getpriority:140 setpriority:141
    sched_setparam:142 sched_getparam:143 sched_setscheduler:144 sched_getscheduler:145
    sched_get_priority_max:146 sched_get_priority_min:147 sched_rr_get_interval:148 mlock:149
    munlock:150 mlockall:151 munlockall:152 prctl:157 arch_prctl:158 setrlimit:160 sync:162 gettid:186
    readahead:187 setxattr:188 lsetxattr:189 fsetxattr:190 getxattr:191 lgetxattr:192 fgetxattr:193
    listxattr:194 llistxattr:195 flistxattr:196 removexattr:197 lremovexattr:198 fremovexattr:199
    tkill:200 time:201 futex:202 sched_setaffinity:203 sched_getaffinity:204 epoll_create:213
    remap_file_pages:216 getdents64:217 set_tid_address:218 restart_syscall:219 fadvise64:221
    timer_create:222 timer_settime:223 timer_gettime:224 timer_getoverrun:225 timer_delete:226
    clock_gettime:228 clock_getres:229 clock_nanosleep:230 exit_group:231 epoll_wait:232 epoll_ctl:233
    tgkill:234 utimes:235 get_mempolicy:239 waitid:247 ioprio_set:251 ioprio_get:252 inotify_init:253
    inotify_add_watch:254 inotify_rm_watch:255 openat:257 mkdirat:258 mknodat:259 fchownat:260
    futimesat:261 newfstatat:262 unlinkat:263 renameat:264 linkat:265 symlinkat:266 readlinkat:267
    fchmodat:268 faccessat:269 pselect6:270 ppoll:271 set_robust_list:273 get_robust_list:274 splice:275
    tee:276 sync_file_range:277 vmsplice:278 utimensat:280 epoll_pwait:281 signalfd:282
    timerfd_create:283 eventfd:284 fallocate:285 timerfd_settime:286 timerfd_gettime:287 signalfd4:289
    eventfd2:290 epoll_create1:291 dup3:292 pipe2:293 inotify_init1:294 preadv:295 pwritev:296
    rt_tgsigqueueinfo:297 recvmmsg:299 prlimit64:302 clock_adjtime:305 syncfs:306 sendmmsg:307
    getcpu:309 sched_setattr:314 sched_getattr:315 renameat2:316 seccomp:317 getrandom:318
    memfd_create:319 execveat:322 membarrier:324 mlock2:325 copy_file_range:326 preadv2:327 pwritev2:328
    pkey_mprotect:329 pkey_alloc:330 pkey_free:331 statx:332 rseq:334 pidfd_send_signal:424
    pidfd_open:434 close_range:436 openat2:437 faccessat2:439 epoll_pwait2:441
    landlock_create_ruleset:444 landlock_add_rule:445 landlock_restrict_self:446 futex_waitv:449
    fchmodat2:452 map_shadow_stack:453 futex_wake:454 futex_wait:455 futex_requeue:456
    mbind:237 set_mempolicy:238
""",
    "aarch64": """
    setxattr:5 lsetxattr:6 fsetxattr:7 getxattr:8 lgetxattr:9 fgetxattr:10 listxattr:11 llistxattr:12
    flistxattr:13 removexattr:14 lremovexattr:15 fremovexattr:16 getcwd:17 eventfd2:19 epoll_create1:20
    epoll_ctl:21 epoll_pwait:22 dup:23 dup3:24 fcntl:25 inotify_init1:26 inotify_add_watch:27
    inotify_rm_watch:28 ioctl:29 ioprio_set:30 ioprio_get:31 flock:32 mknodat:33 mkdirat:34 unlinkat:35
    symlinkat:36 linkat:37 renameat:38 statfs:43 fstatfs:44 truncate:45 ftruncate:46 fallocate:47
    faccessat:48 chdir:49 fchdir:50 fchmod:52 fchmodat:53 fchownat:54 fchown:55 openat:56 close:57
    pipe2:59 getdents64:61 lseek:62 read:63 write:64 readv:65 writev:66 pread64:67 pwrite64:68 preadv:69
    pwritev:70 sendfile:71 pselect6:72 ppoll:73 signalfd4:74 vmsplice:75 splice:76 tee:77 readlinkat:78
    newfstatat:79 fstat:80 sync:81 fsync:82 fdatasync:83 sync_file_range:84 timerfd_create:85
    timerfd_settime:86 timerfd_gettime:87 utimensat:88 capget:90 capset:91 exit:93 exit_group:94
    waitid:95 set_tid_address:96 futex:98 set_robust_list:99 get_robust_list:100 nanosleep:101
    getitimer:102 setitimer:103 timer_create:107 timer_gettime:108 timer_getoverrun:109
    timer_settime:110 timer_delete:111 clock_gettime:113 clock_getres:114 clock_nanosleep:115
    sched_setparam:118 sched_setscheduler:119 sched_getscheduler:120 sched_getparam:121
    sched_setaffinity:122 sched_getaffinity:123 sched_yield:124 sched_get_priority_max:125
    sched_get_priority_min:126 sched_rr_get_interval:127 restart_syscall:128 kill:129 tkill:130
    tgkill:131 sigaltstack:132 rt_sigsuspend:133 rt_sigaction:134 rt_sigprocmask:135 rt_sigpending:136
    rt_sigtimedwait:137 rt_sigqueueinfo:138 rt_sigreturn:139 setpriority:140 getpriority:141
    setregid:143 setgid:144 setreuid:145 setuid:146 setresuid:147 getresuid:148 setresgid:149
    getresgid:150 setfsuid:151 setfsgid:152 times:153 setpgid:154 getpgid:155 getsid:156 setsid:157
    getgroups:158 setgroups:159 uname:160 getrlimit:163 setrlimit:164 getrusage:165 umask:166 prctl:167
    getcpu:168 gettimeofday:169 getpid:172 getppid:173 getuid:174 geteuid:175 getgid:176 getegid:177
    gettid:178 sysinfo:179 getsockname:204 getpeername:205 sendto:206 recvfrom:207 setsockopt:208
    getsockopt:209 shutdown:210 sendmsg:211 recvmsg:212 readahead:213 brk:214 munmap:215 mremap:216
    execve:221 mmap:222 fadvise64:223 mprotect:226 msync:227 mlock:228 munlock:229 mlockall:230
    munlockall:231 mincore:232 madvise:233 remap_file_pages:234 get_mempolicy:236 rt_tgsigqueueinfo:240
    recvmmsg:243 wait4:260 prlimit64:261 clock_adjtime:266 syncfs:267 sendmmsg:269 sched_setattr:274
    sched_getattr:275 renameat2:276 seccomp:277 getrandom:278 memfd_create:279 execveat:281
    membarrier:283 mlock2:284 copy_file_range:285 preadv2:286 pwritev2:287 pkey_mprotect:288
    pkey_alloc:289 pkey_free:290 statx:291 rseq:293 pidfd_send_signal:424 pidfd_open:434 close_range:436
    openat2:437 faccessat2:439 epoll_pwait2:441 landlock_create_ruleset:444 landlock_add_rule:445
    landlock_restrict_self:446 futex_waitv:449 fchmodat2:452 map_shadow_stack:453 futex_wake:454
    futex_wait:455 futex_requeue:456
    mbind:235 set_mempolicy:237
""",
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SPECIAL = {"x86_64": {"clone": 56, "clone3": 435, "socketpair": 53},
           "aarch64": {"clone": 220, "clone3": 435, "socketpair": 199}}
CLONE_NAMESPACES = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
_ERRNO, _ALLOW, _EPERM, _ENOSYS = 0x00050000, 0x7FFF0000, 1, 38
_LD, _JEQ, _JGT, _JGE, _JSET, _AND, _RET = 0x20, 0x15, 0x25, 0x35, 0x45, 0x54, 0x06


def allowed_syscalls(machine: str) -> dict[str, int]:
    """The allowlist of ``machine`` (platform.machine()) as name -> number."""
    return {name: int(nr) for name, nr in (item.split(":") for item in SYSCALLS[machine].split())}


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    ranges: list[list[int]] = []
    for nr in sorted(numbers):
        if ranges and nr == ranges[-1][1] + 1:
            ranges[-1][1] = nr
        else:
            ranges.append([nr, nr])
    return [(a, b) for a, b in ranges]


def _tree(ranges: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """A binary search over the allowed ranges (the accumulator holds the call number); each leaf
    ends in its own allow / deny, so that every jump stays short."""
    if len(ranges) <= 4:
        code = []
        for i, (low, high) in enumerate(ranges):
            to_end = 2 * (len(ranges) - i - 1)  # instructions left in this leaf after this pair
            code.append((_JGT, 1, 0, high))                  # above this range: the next one (or deny)
            code.append((_JGE, to_end + 1, to_end, low))    # in it: allow; below it: deny
        return code + [(_RET, 0, 0, _ERRNO | _EPERM), (_RET, 0, 0, _ALLOW)]
    middle = len(ranges) // 2
    left, right = _tree(ranges[:middle]), _tree(ranges[middle:])
    return [(_JGE, len(left), 0, ranges[middle][0])] + left + right


def seccomp_program(machine: str) -> bytes:
    """The classic-BPF filter for ``machine``, as the bytes of a ``sock_filter`` array."""
    special = SPECIAL[machine]
    deny, allow = (_RET, 0, 0, _ERRNO | _EPERM), (_RET, 0, 0, _ALLOW)
    arg0, arg1 = 16, 24  # low 32 bits of the first two arguments (little-endian machines)
    program = [
        (_LD, 0, 0, 4), (_JEQ, 1, 0, AUDIT_ARCH[machine]), deny,      # another ABI: refused
        (_LD, 0, 0, 0), (_JGE, 0, 1, 0x40000000), deny,               # x32 calls: refused
        (_JEQ, 0, 4, special["clone"]),                                # clone() without namespace flags
        (_LD, 0, 0, arg0), (_JSET, 1, 0, CLONE_NAMESPACES), allow, deny,
        (_JEQ, 0, 1, special["clone3"]), (_RET, 0, 0, _ERRNO | _ENOSYS),
        (_JEQ, 0, 7, special["socketpair"]),                           # socketpair(AF_UNIX, SOCK_STREAM)
        (_LD, 0, 0, arg0), (_JEQ, 0, 3, 1),
        (_LD, 0, 0, arg1), (_AND, 0, 0, 0xF), (_JEQ, 1, 0, 1), deny, allow,
    ]
    program += _tree(_ranges(list(allowed_syscalls(machine).values())))
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in program) and len(program) < 4096
    return b"".join(struct.pack("HBBI", *insn) for insn in program)


# Installed in the kernel process before any user code; a reason is kept where it cannot be.
SECCOMP_SOURCE = r'''
def _install_filter(program, machine):
    import ctypes
    if not program:
        return "no system call table for this machine, %s" % machine
    buffer = ctypes.create_string_buffer(program, len(program))
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(len(program) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return "prctl(PR_SET_NO_NEW_PRIVS) failed, errno %d" % ctypes.get_errno()
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return "prctl(PR_SET_SECCOMP) failed, errno %d" % ctypes.get_errno()
    return None
_isolation_problem = _install_filter(bytes.fromhex({program!r}), {machine!r}) if {seccomp!r} else None
if _isolation_problem and {allow_without!r}:
    _isolation_problem = None
del _install_filter
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
    if _isolation_problem:  # fail closed: no code runs where the filter could not be installed
        reply.write(json.dumps({"id": request["id"], "fatal": "seccomp unavailable (%s)" % _isolation_problem}) + "\n")
        sys.exit(97)
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
