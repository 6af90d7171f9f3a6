# mbpp-stream sandbox worker.
#
# Trusted code: it never runs judged code itself. For each program it forks a child that runs the
# program and the setup code once, then the tests in order (one process per program, like a plain
# exec of the solution and its tests, so globals a test changes are seen by the tests after it).
# Before each test the child's trusted code, bound to locals before any judged code runs, sets the
# soft RLIMIT_CPU to the CPU used so far plus the test's limit, rounded up to a whole second (the
# hard limit is fixed at start to the whole batch's budget) and announces the test with the exact CPU
# time at which it is out of time. The worker resets its wall-clock deadline whenever a test starts
# or reports, and kills a child whose CPU time passes that point (it looks every quarter second: the
# rlimit alone would allow up to a second more, and judged code may ignore SIGXCPU). Each verdict comes back as
# soon as the test ends, on a pipe made for that child only, tagged with a per-child nonce and the
# test's index; stdout, the exit status and the worker's own descriptors carry no verdicts. Copies
# of the child that judged code forks exit when they reach trusted code, unheard.
#
# Challenge tests run after the tests, in the same batch.
#
# When the child dies or is killed mid-batch (CPU limit, wall cap, exit, abort, segfault, a signal,
# closed descriptors...), the test that was running gets the verdict that its death means (Timeout,
# Killed, OutOfMemory...), the tests already reported keep theirs, the whole process tree is killed,
# and the remaining tests run in a fresh child, again as a batch. So a test that hangs or crashes
# the interpreter costs only its own verdict. A program that fails to load (error, or death before
# the first test) fails every remaining test the same way.
#
# Containment: as root, judged code runs as a uid of its own (one per worker), so kill(-1) and a scan
# of /proc reach only its own processes. As an ordinary user the worker makes itself the init of new
# user, pid and mount namespaces with a /proc of their own, and forks judged code in there: every pid
# judged code can name is its own or the worker's (an init, which signals from inside its namespace
# do not reach), so kill(-1) and killing its parent reach nothing outside; judged processes hold no
# capabilities. Where neither is possible the worker says so in its ready line and the Node side
# refuses to run unless the user opted in.
#
# Reproducibility: the worker's string-hash seed comes from PYTHONHASHSEED (set by the Node side,
# fixed per worker), and each child seeds `random` from it, so the same program gets the same
# verdicts in every worker and every run.
#
# Protocol with the Node side: one JSON config in argv[1]; then JSON lines on stdin (jobs, or
# {"cancel": id} while a job runs) and JSON lines on stdout (a ready line, then one reply per job).
# With {"probe": true} in the config it prints one JSON line about the judge and exits.
import builtins
import ctypes
import errno
import fcntl
import gc
import json
import os
import resource
import secrets
import select
import shutil
import signal
import sys
import time

# Warm the modules MBPP and generated programs import, so forked children find them loaded (and so
# they import even where the sandbox uid cannot read the interpreter's own files).
import abc, array, bisect, calendar, cmath, collections, collections.abc  # noqa: E401,F401
import contextlib, copy, dataclasses, datetime, decimal, difflib, enum, fractions, functools  # noqa: E401,F401
import heapq, io, itertools, math, numbers, operator, queue, random, re, statistics  # noqa: E401,F401
import string, struct, textwrap, time, types, typing, unicodedata, weakref  # noqa: E401,F401

del sys.path[0]  # the worker's own dir: judged code must not import from it
CONFIG = json.loads(sys.argv[1])
LIMITS = CONFIG["limits"]
LEVEL = CONFIG["level"]  # 'bwrap' | 'rlimit' | 'none'
WORK_ROOT = CONFIG["workRoot"]
PROBE = CONFIG.get("probe", False)
HASH_SEED = CONFIG.get("hashSeed", 0)
MESSAGE_CHARS = 300
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
LIBC = ctypes.CDLL(None, use_errno=True)
DEVNULL = os.open(os.devnull, os.O_RDWR)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x4000, 0x40000, 0x2, 0x4, 0x8
# Third-party modules generated programs commonly import: the probe says which the judge can import.
COMMON_MODULES = ("numpy", "pandas", "scipy", "sympy", "regex", "networkx", "more_itertools",
                  "sortedcontainers", "dateutil", "pytz", "bs4", "requests", "yaml", "toolz")


def prctl(option, value):
    LIBC.prctl(option, ctypes.c_ulong(value), 0, 0, 0)


def allocate_uid():
    """Picks an unprivileged uid no other live worker on this host holds (flock on a per-uid file),
    so that 'kill every process of this uid' reaches exactly this worker's judged processes."""
    if LEVEL == "none" or os.geteuid() != 0 or PROBE:
        return None, None
    lock_dir = CONFIG["uidLockDir"]
    first = CONFIG["uidBase"]
    for uid in range(first, first + 4096):
        fd = os.open(os.path.join(lock_dir, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"no free sandbox uid in {first}..{first + 4095} (lock dir {lock_dir})")


UID, UID_LOCK_FD = allocate_uid()


def libc_call(name, result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def enter_namespaces():
    """Moves the calling process into new user, pid and mount namespaces, its own uid and gid mapped
    to themselves (files keep their owner), so the next process it forks is the init of a pid
    namespace that holds nothing else. Needs no privilege where unprivileged user namespaces work."""
    uid, gid = os.geteuid(), os.getegid()
    libc_call("unshare", LIBC.unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS), "unshare(user, pid, mount)")
    prctl(PR_SET_DUMPABLE, 1)  # a non-dumpable process's /proc files are root's: it could not write its maps
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open("/proc/self/" + name, "w") as file:
                file.write(text)
    finally:
        prctl(PR_SET_DUMPABLE, 0)


def mount_private_proc():
    """In the new namespaces: a /proc that lists only this pid namespace. Returns False where the
    kernel refuses (a /proc partly hidden by the container around us): pids outside still cannot be
    signalled from inside, they can only be read about."""
    if LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    return LIBC.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0


def drop_capabilities():
    """The judged process holds every capability of the new user namespace; it needs none."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    libc_call("capset", LIBC.capset(header, (ctypes.c_uint32 * 6)()), "capset(none)")


def become_namespace_init():
    """(Not root.) Moves the worker into fresh user, pid and mount namespaces as their init, with a /proc
    of its own. Every pid judged code can then name is the worker's (init: signals from inside the
    namespace that it has no handler for never reach it) or one of its own processes. The process that
    called this stays outside holding nothing: it waits, and ends when the worker ends."""
    enter_namespaces()
    worker = os.fork()
    if worker != 0:
        for fd in (0, 1, 2):
            os.close(fd)
        _, status = os.waitpid(worker, 0)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if not mount_private_proc():
        raise OSError("cannot mount a /proc for the new pid namespace")


def containment():
    """How judged code is kept from other processes: ('sandbox-uid' | 'pid-namespace', None), or
    (None, why not). A pid namespace is tried for real, in a throwaway child."""
    if LEVEL == "none":
        return None, "the sandbox is off (--sandbox none): judged code runs as your user, beside your processes"
    if os.geteuid() == 0:
        return "sandbox-uid", None
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(report_r)
            enter_namespaces()
            init = os.fork()
            if init == 0:
                os.write(report_w, b"ok" if mount_private_proc() else b"no cannot mount a /proc for a new pid namespace")
                os._exit(0)
            os.waitpid(init, 0)
        except BaseException as error:  # noqa: BLE001 - the reason is the answer
            os.write(report_w, f"no {error}".encode())
        finally:
            os._exit(0)
    os.close(report_w)
    answer = os.read(report_r, 4096).decode("utf-8", "replace")
    os.close(report_r)
    os.waitpid(pid, 0)
    if answer == "ok":
        return "pid-namespace", None
    detail = answer[3:] if answer.startswith("no ") else "the probe child died"
    return None, f"not root and no unprivileged user namespaces ({detail})"


def judge_environment():
    """What the Node side shows in the preflight and the metadata: the interpreter, containment,
    and which commonly imported third-party modules the judged code can import (and their versions)."""
    import importlib.metadata
    import importlib.util
    modules = {}
    for name in COMMON_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        version = None
        if found:
            distribution = {"yaml": "PyYAML", "bs4": "beautifulsoup4", "dateutil": "python-dateutil"}.get(name, name)
            try:
                version = importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                version = ""
        modules[name] = version
    how, reason = containment()
    return {"python": sys.executable, "version": sys.version.split()[0], "containment": how,
            "uncontainedReason": reason, "modules": modules}


def own_process_count():
    """Processes of our own uid, so RLIMIT_NPROC leaves room for them when we cannot switch uid."""
    me = os.getuid()
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat("/proc/" + name).st_uid == me:
                    count += 1
            except OSError:
                pass
    return count


NPROC_LIMIT = LIMITS["maxProcesses"] if UID is not None else own_process_count() + LIMITS["maxProcesses"]


class Verdict:
    """What the worker learned about one test: a reported verdict, or how its child ended."""

    def __init__(self):
        self.loaded = False
        self.reported = None  # (kind, error_type, message): kind 'V' test verdict, 'P' program error
        self.status = None
        self.cpu_seconds = 0.0
        self.cpu_budget = LIMITS["cpuSeconds"]  # the child's soft RLIMIT_CPU while the test ran
        self.cpu_limit = LIMITS["cpuSeconds"]  # the test's own limit, for the message
        self.wall_exceeded = False
        self.cpu_exceeded = False  # the worker killed it once its CPU time passed the test's limit
        self.cancelled = False
        self.output_tail = b""


class Batch:
    """What the worker learned about one child running tests start.. of a program."""

    def __init__(self, start, limits):
        self.start = start
        self.limits = limits  # CPU seconds per test
        self.next = start  # first test without a verdict
        self.loaded = False
        self.program = None  # [error_type, message] when the program or setup raised
        self.reported = {}  # test index -> [error_type or None, message]
        self.running = None  # index of the last test the child announced
        self.cpu = {}  # test index -> CPU seconds the test took, for tests that reported
        self.cpu_budget = self.limit = max(limits[start:])  # loading the program gets the largest
        self.deadline = self.limit  # the child's CPU seconds at which the running test (or the load) is out of time
        self.status = None
        self.cpu_seconds = 0.0
        self.wall_exceeded = False
        self.cpu_exceeded = False  # the worker killed it once its CPU time passed the test's limit
        self.cancelled = False
        self.output_tail = b""
        self.pending = b""
        self.message_for = None  # the report an 'M' line completes
        self.clear = None  # set when the child is left for the caller to clear away (every test reported)

    def complete(self, count):
        """Every test has reported, the last failure's message included: nothing more to wait for."""
        return self.next == count and self.message_for is None

    def feed(self, data, tag):
        """Parses complete result lines; lines without this child's nonce are ignored. Returns
        True when a test started or reported (the wall-clock deadline restarts)."""
        self.pending += data
        progressed = False
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            text = line.decode("ascii", "replace")
            if not text.startswith(tag):
                continue
            fields = text[len(tag):].split(" ")
            try:
                progressed |= self.line(fields)
            except (IndexError, ValueError):
                pass
        if len(self.pending) > 65536:
            self.pending = b""
        return progressed

    def line(self, fields):
        kind = fields[0]
        if kind == "L":
            self.loaded = True
        elif kind == "P" and self.program is None and not self.loaded:
            self.program = [decode_field(fields[1]), None]
            self.message_for = self.program
        elif kind == "S" and self.loaded and self.program is None and int(fields[1]) == self.next:
            self.running = self.next
            self.cpu_budget = float(fields[2])
            self.deadline = float(fields[3])
            self.limit = self.limits[self.next]
            self.message_for = None
            return True
        elif kind == "V" and self.running == self.next and int(fields[1]) == self.next:
            entry = [None if fields[2] == "-" else decode_field(fields[2]), None]
            self.reported[self.next] = entry
            if len(fields) > 3:
                self.cpu[self.next] = float(fields[3])
            self.message_for = entry if entry[0] is not None else None  # only a failure's message follows
            self.next += 1
            return True
        elif kind == "M" and self.message_for is not None and self.message_for[1] is None:
            self.message_for[1] = decode_field(fields[2])
            self.message_for = None
        return False


def encode_field(text):
    return text.encode("utf-8", "backslashreplace").hex()


def decode_field(hex_text):
    return bytes.fromhex(hex_text).decode("utf-8", "replace")


def child_main(program, setup, tests, limits, start, result_fd, output_fd, nonce, workdir):
    """Runs in the forked child: the program and setup once, then tests start.. in order, reporting
    each verdict as it ends. Everything the verdicts and the limits depend on is bound to locals
    before any judged code runs, so patching builtins, modules or this module's globals cannot
    change them."""
    _write, _exit, _compile, _exec, _type, _str = os.write, os._exit, compile, exec, type, str
    _BaseException, _ModuleType = BaseException, type(sys)
    _setrlimit, _RLIMIT_CPU, _getpid = resource.setrlimit, resource.RLIMIT_CPU, os.getpid
    _getrusage, _RUSAGE_SELF, _round = resource.getrusage, resource.RUSAGE_SELF, round

    def cpu_used():  # getrusage, not os.times: clock ticks would round most tests to 0
        usage = _getrusage(_RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    tag = nonce + " "
    limits = [int(limit) for limit in limits]
    load_cpu = max(limits[start:])
    # The batch's whole CPU budget (loading the program counts as one more test; the +1s cover
    # rounding each test's start up to a whole second), fixed so judged code cannot raise it.
    cpu_hard = sum(limit + 1 for limit in limits[start:]) + load_cpu + 2
    try:
        os.setsid()
        os.dup2(DEVNULL, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        if result_fd != 3:
            os.dup2(result_fd, 3)
            result_fd = 3
        for fd in os.listdir("/proc/self/fd"):  # closerange over the whole table costs ~20 ms without close_range(2)
            if int(fd) > 3:
                try:
                    os.close(int(fd))
                except OSError:
                    pass
        os.chdir(workdir)
        if LEVEL != "none":
            for limit, value in (
                (resource.RLIMIT_AS, LIMITS["memoryMb"] << 20),
                (resource.RLIMIT_NPROC, NPROC_LIMIT),
                (resource.RLIMIT_FSIZE, LIMITS["maxFileSizeMb"] << 20),
                (resource.RLIMIT_NOFILE, LIMITS["maxOpenFiles"]),
                (resource.RLIMIT_CORE, 0),
            ):
                resource.setrlimit(limit, (value, value))
        resource.setrlimit(resource.RLIMIT_CPU, (load_cpu, cpu_hard))
        if UID is not None:
            os.setgroups([])
            os.setgid(UID)
            os.setuid(UID)
        if LEVEL != "none":
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            os.environ.clear()
            os.environ.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=workdir, TMPDIR=workdir, LANG="C.UTF-8")
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if CONTAINMENT == "pid-namespace":
            drop_capabilities()  # it holds every capability of the worker's user namespace
        random.seed(HASH_SEED)  # forked children share the worker's state otherwise, which differs per worker
        me = os.getpid()
    except BaseException as error:  # the sandbox could not be set up: never run the code unconfined
        try:
            os.write(2, f"sandbox setup failed: {error!r}\n".encode())
        finally:
            os._exit(71)

    def send(line):
        if _getpid() != me:  # a copy the judged code forked reached trusted code: it reports nothing
            _exit(0)
        _write(result_fd, (tag + line + "\n").encode())

    def report(kind, error, cpu=""):
        try:
            name = _str(_type(error).__name__)
        except _BaseException:
            name = "Exception"
        send(kind + " " + encode_field(name) + cpu)
        try:
            message = _str(error)[:MESSAGE_CHARS]
        except _BaseException:
            message = ""
        send("M " + kind.split(" ")[-1] + " " + encode_field(message))

    try:
        install_audit_guard()
        solution = _ModuleType("solution")
        namespace = solution.__dict__
        namespace["__builtins__"] = builtins
        sys.modules["__main__"] = solution
        try:
            _exec(_compile(program, "<program>", "exec"), namespace)
            if setup:
                _exec(_compile(setup, "<setup>", "exec"), namespace)
        except _BaseException as error:
            report("P", error)
            _exit(0)
        send("L")
        for index in range(start, len(tests)):
            before = cpu_used()
            budget = int(before) + 1 + limits[index]
            if budget > cpu_hard:  # only when judged code kept running past SIGXCPU: the rest go to a fresh child
                _exit(72)
            _setrlimit(_RLIMIT_CPU, (budget, cpu_hard))
            send("S " + _str(index) + " " + _str(budget) + " " + _str(before + limits[index]))
            try:
                _exec(_compile(tests[index], "<test>", "exec"), namespace)
            except _BaseException as error:
                report("V " + _str(index), error, " " + _str(_round(cpu_used() - before, 6)))
                continue
            send("V " + _str(index) + " - " + _str(_round(cpu_used() - before, 6)))
    finally:
        _exit(0)


# Audit events that would reach the runner's frames, objects or raw memory, where the nonce lives.
# sys._getframe answers ValueError, which namedtuple, enum and typing already tolerate.
BLOCKED_EVENTS = frozenset({
    "sys._current_frames", "sys.settrace", "sys.setprofile", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "sys._getframe",
})
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})


def install_audit_guard():
    """Refuses the introspection a program would need to find and forge the result channel."""
    blocked, frame_attributes, _ValueError, _RuntimeError = BLOCKED_EVENTS, FRAME_ATTRIBUTES, ValueError, RuntimeError

    def guard(event, args):
        if event in blocked:
            if event == "sys._getframe":
                raise _ValueError("sys._getframe is not available in the sandbox")
            raise _RuntimeError(f"{event} is not available in the sandbox")
        if event.startswith("ctypes."):
            raise _RuntimeError(f"{event} is not available in the sandbox")
        if event == "object.__getattr__" and len(args) > 1 and args[1] in frame_attributes:
            raise _RuntimeError(f"{args[1]} is not available in the sandbox")

    sys.addaudithook(guard)


class UidKiller:
    """A helper that runs as the sandbox uid and, on request, kills every other process of that uid
    (kill(-1) is atomic against fork, so one round reaches double-forked, setsid'd and detached
    children wherever they went). Kept alive between tests to save a fork per test; judged code may
    kill it, and then it is started again."""

    def __init__(self):
        self.pid = None
        self.request = self.ack = -1

    def start(self):
        request_r, request_w = os.pipe()
        ack_r, ack_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(UID)
                os.setuid(UID)
                prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                while os.read(request_r, 1):
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    os.write(ack_w, b"k")
            finally:
                os._exit(0)
        os.close(request_r)
        os.close(ack_w)
        self.pid, self.request, self.ack = pid, request_w, ack_r

    def stop(self):
        if self.pid is not None:
            for fd in (self.request, self.ack):
                os.close(fd)
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = None

    def kill_all(self):
        for _ in range(3):
            if self.pid is None:
                self.start()
            try:
                os.write(self.request, b"k")
                if os.read(self.ack, 1) == b"k":
                    return
            except OSError:
                pass
            self.stop()
        raise RuntimeError(f"cannot kill the processes of sandbox uid {UID}")


UID_KILLER = UidKiller()


def descendants():
    """Pids whose parent chain leads to this worker (a subreaper, so orphans come back to it)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                parents[int(name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    me = os.getpid()
    found = set()
    frontier = [me]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_tree(child_pid):
    """Leaves nothing of the test behind: its session, and every process it started. Returns the
    child's wait status and CPU seconds (collected before anything else is reaped)."""
    try:
        os.killpg(child_pid, signal.SIGKILL)
    except OSError:
        pass
    if UID is not None:
        UID_KILLER.kill_all()
    _, status, usage = os.wait4(child_pid, 0)
    if UID is None:
        for _ in range(100):
            pids = descendants()
            if not pids:
                break
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in pids:
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            reap_orphans()
    reap_orphans()
    return status, usage.ru_utime + usage.ru_stime


class Input:
    """Line reader over stdin that the test loop can poll for a cancel message."""

    def __init__(self):
        self.buffer = b""
        self.closed = False

    def fill(self):
        chunk = os.read(0, 1 << 20)
        if not chunk:
            self.closed = True
        self.buffer += chunk

    def line(self):
        while b"\n" not in self.buffer:
            if self.closed:
                return None
            self.fill()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def take_cancel(self, job_id):
        """True when the Node side cancelled this job or went away. Only cancels arrive mid-job."""
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip() and json.loads(line).get("cancel") == job_id:
                return True
        return self.closed


STDIN = Input()


def make_workdir():
    path = os.path.join(WORK_ROOT, "t" + secrets.token_hex(6))
    os.mkdir(path, 0o700)
    if UID is not None:
        os.chown(path, UID, UID)
    return path


CPU_CHECK_SECONDS = 0.25  # how often a running test's CPU time is held against its limit
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_time(pid):
    """CPU seconds the process has used so far (its own, like RLIMIT_CPU), 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def run_batch(program, setup, tests, limits, start, job_id):
    """Forks one child for tests start.. and watches it: result pipe, output pipe, exit, wall cap
    (restarted whenever a test starts or reports), cancel. Returns the Batch once the child and
    everything it started are gone; or, once every test has reported, at once with `batch.clear`
    set to do that, so the reply need not wait for the child to exit and be cleared away."""
    batch = Batch(start, limits)
    nonce = secrets.token_hex(16)
    tag = nonce + " "
    workdir = make_workdir()
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(result_r)
            os.close(output_r)
            child_main(program, setup, tests, limits, start, result_w, output_w, nonce, workdir)
        finally:
            os._exit(70)
    os.close(result_w)
    os.close(output_w)
    pidfd = os.pidfd_open(pid)
    wall = LIMITS["wallSeconds"]
    started = time.monotonic()
    deadline = started + wall
    next_cpu_check = started + CPU_CHECK_SECONDS
    open_fds = {result_r, output_r}
    exited = False
    deferred = False
    try:
        while not exited and not batch.complete(len(tests)):
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                batch.wall_exceeded = True
                break
            if now >= next_cpu_check:
                next_cpu_check = now + CPU_CHECK_SECONDS
                if cpu_time(pid) >= batch.deadline:
                    batch.cpu_exceeded = True
                    break  # out of time: RLIMIT_CPU counts whole seconds, and judged code may ignore SIGXCPU
            ready, _, _ = select.select(list(open_fds) + [pidfd, 0] if not STDIN.closed else list(open_fds) + [pidfd], [], [],
                                        min(remaining, CPU_CHECK_SECONDS))
            for fd in ready:
                if fd == 0:
                    STDIN.fill()
                    if STDIN.take_cancel(job_id):
                        batch.cancelled = True
                elif fd == pidfd:
                    exited = True
                else:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        open_fds.discard(fd)
                    elif fd == result_r:
                        if batch.feed(chunk, tag):
                            deadline = time.monotonic() + wall
                    else:
                        batch.output_tail = (batch.output_tail + chunk)[-LIMITS["outputBytes"]:]
            if batch.cancelled:
                break
        if batch.complete(len(tests)) and not batch.cancelled:
            deferred = True
            batch.clear = lambda: (kill_tree(pid), release_child((pidfd, result_r, output_r), workdir))
            return batch
        batch.status, batch.cpu_seconds = kill_tree(pid)
        for fd in (result_r, output_r):
            os.set_blocking(fd, False)
        try:
            for _ in range(64):
                chunk = os.read(result_r, 65536)
                if not chunk:
                    break
                batch.feed(chunk, tag)
        except BlockingIOError:
            pass
    finally:
        if not deferred:
            release_child((pidfd, result_r, output_r), workdir)
    return batch


def release_child(fds, workdir):
    for fd in fds:
        os.close(fd)
    try:
        os.rmdir(workdir)  # usually empty: skip rmtree's walk
    except OSError:
        shutil.rmtree(workdir, ignore_errors=True)


def describe_end(verdict):
    status = verdict.status
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            what = f"killed by {signal.Signals(number).name}"
        except ValueError:
            what = f"killed by signal {number}"
    else:
        what = f"exited with status {os.WEXITSTATUS(status)}"
    tail = verdict.output_tail.decode("utf-8", "replace").strip().splitlines()
    if tail:
        what += ": " + tail[-1][:MESSAGE_CHARS]
    return what


def to_result(verdict):
    """Maps what happened to one TestResult; second value tells whether the program failed to load."""
    cpu_limit = verdict.cpu_limit
    if verdict.reported is not None:
        kind, name, message = verdict.reported
        if kind == "V" and name is None:
            return {"passed": True, "error_type": None, "message": None}, False
        if name == "MemoryError":
            return {"passed": False, "error_type": "OutOfMemory", "message": message or "MemoryError"}, kind == "P"
        if kind == "P":
            return {"passed": False, "error_type": "ProgramError", "message": f"{name}: {message}"}, True
        return {"passed": False, "error_type": name, "message": message}, False
    unloaded = not verdict.loaded
    if verdict.wall_exceeded:
        return {"passed": False, "error_type": "Timeout",
                "message": f"exceeded the wall-clock cap of {LIMITS['wallSeconds']} s"}, unloaded
    status = verdict.status
    signalled = os.WIFSIGNALED(status)
    if verdict.cpu_exceeded or (signalled and os.WTERMSIG(status) == signal.SIGXCPU) or (
            signalled and os.WTERMSIG(status) == signal.SIGKILL and verdict.cpu_seconds >= verdict.cpu_budget - 0.05):
        return {"passed": False, "error_type": "Timeout", "message": f"exceeded the CPU limit of {cpu_limit} s"}, unloaded
    if unloaded:
        return {"passed": False, "error_type": "ProgramError", "message": "program " + describe_end(verdict)}, True
    return {"passed": False, "error_type": "Killed", "message": "test " + describe_end(verdict)}, False


def reported_verdict(kind, entry):
    verdict = Verdict()
    verdict.loaded = kind == "V"
    verdict.reported = [kind, entry[0], entry[1]]
    return verdict


def death_verdict(batch):
    """The verdict of the test (or program load) that was running when the batch's child ended."""
    verdict = Verdict()
    for field in ("loaded", "status", "cpu_seconds", "cpu_budget", "wall_exceeded", "cpu_exceeded", "output_tail"):
        setattr(verdict, field, getattr(batch, field))
    verdict.cpu_limit = batch.limit
    return verdict


def run_tests(program, setup, tests, limits, job_id):
    """Runs the tests as batches: one child from the first test on, and after a child dies
    mid-batch, a fresh one from the first test without a verdict. The test that was running when a
    child died gets the verdict its death means. A program that fails to load fails every
    remaining test the same way. Once a test times out the label is known (not correct), and the
    tests after it are not run: they get `Skipped`, so an endless loop costs one limit, not one
    per test. Returns the results, each test's CPU seconds (None where it did not report), and what
    clears the last child away (to call once the reply is out)."""
    results = [None] * len(tests)
    start = 0
    cpu = [None] * len(tests)
    while start < len(tests):
        batch = run_batch(program, setup, tests, limits, start, job_id)
        if batch.cancelled:
            return None, None, None
        for index in range(start, batch.next):
            results[index] = to_result(reported_verdict("V", batch.reported[index]))[0]
            cpu[index] = batch.cpu.get(index)
        start = batch.next
        if start == len(tests):
            return results, cpu, batch.clear
        if batch.program is not None or not batch.loaded:
            verdict = reported_verdict("P", batch.program) if batch.program is not None else death_verdict(batch)
            failure = to_result(verdict)[0]
            for index in range(start, len(tests)):
                results[index] = dict(failure)
            break
        if batch.running is None or batch.running == start:
            # The child died in test `start` (or before announcing it): that test pays for it.
            results[start] = to_result(death_verdict(batch))[0]
            start += 1
            if results[start - 1]["error_type"] == "Timeout":
                skipped = {"passed": False, "error_type": "Skipped", "message": f"not run: test {start - 1} timed out"}
                for index in range(start, len(tests)):
                    results[index] = dict(skipped)
                break
        # else it died between reporting a test and starting the next: nothing to charge, the rest
        # go to a fresh child
    return results, cpu, None


def send(message):
    data = (json.dumps(message) + "\n").encode()
    while data:
        written = os.write(1, data)
        data = data[written:]


CONTAINMENT = None  # set once in main: 'sandbox-uid' | 'pid-namespace' | None


def main():
    global CONTAINMENT
    if PROBE:
        send(judge_environment())
        return
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Processes of our own uid may not read our memory or trace us (there is no Yama everywhere).
    prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.makedirs(WORK_ROOT, exist_ok=True)
    CONTAINMENT, reason = containment()
    if CONTAINMENT == "pid-namespace":
        become_namespace_init()
    gc.freeze()  # the warm heap is shared with every child: keep their collections off its pages
    send({"ready": True, "uid": UID, "pid": os.getpid(), "containment": CONTAINMENT, "uncontainedReason": reason})
    while True:
        line = STDIN.line()
        if line is None:
            return
        if not line.strip():
            continue
        job = json.loads(line)
        if "cancel" in job:
            continue
        job_id = job["id"]
        # Challenge tests run after the tests, in the same batch (one process, as one exec would).
        count = len(job["tests"])
        challenge_tests = job.get("challengeTests")
        tests = job["tests"] + (challenge_tests or [])
        limits = job.get("cpuLimits") or [LIMITS["cpuSeconds"]] * len(tests)
        results, cpu, clear = run_tests(job["code"], job["setup"], tests, limits, job_id)
        if results is None:
            send({"id": job_id, "cancelled": True})
        else:
            send({"id": job_id, "tests": results[:count],
                  "challenge": results[count:] if challenge_tests is not None else None, "cpu": cpu})
        if clear is not None:
            clear()


if __name__ == "__main__":
    main()
