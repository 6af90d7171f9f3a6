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
# MBPP+ (EvalPlus) suites run the same way, a call per input in place of a test: the child calls the
# program's entry point on a deep copy of each input and compares the output with the canonical
# solution's by EvalPlus's rules (or, recording the ground truth, sends the output back pickled).
# With stopAtFirstFailure (EvalPlus's fast_check) the first failing input ends the suite.
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
import base64
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
import _signal
import sys
import time
import copy, hashlib, io, math, pickle, random, zlib  # noqa: E401

del sys.path[0]  # the worker's own dir: judged code must not import from it
CONFIG = json.loads(sys.argv[1])
LIMITS = CONFIG["limits"]
LEVEL = CONFIG["level"]  # 'bwrap' | 'rlimit' | 'none'
WORK_ROOT = CONFIG["workRoot"]
PROBE = CONFIG.get("probe", False)
if not PROBE:  # the probe (on the way to the first program) judges nothing: ~10 ms less to answer
    # Warm the modules MBPP and generated programs import, so forked children find them loaded (and so
    # they import even where the sandbox uid cannot read the interpreter's own files). Not `queue`: it
    # imports threading, whose after-fork hook costs every child ~0.2 ms (no MBPP program imports either).
    import abc, array, bisect, calendar, cmath, collections, collections.abc  # noqa: E401,F401
    import contextlib, dataclasses, datetime, decimal, difflib, enum, fractions, functools  # noqa: E401,F401
    import heapq, itertools, numbers, operator, re, statistics  # noqa: E401,F401
    import string, struct, textwrap, types, typing, unicodedata, weakref  # noqa: E401,F401
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


def close_range_call():
    """libc's close_range(2) where both libc and the kernel have it, else None: closing a child's
    inherited descriptors is then one call instead of a walk of /proc/self/fd."""
    try:
        call = LIBC.close_range
    except AttributeError:
        return None
    call.argtypes = (ctypes.c_uint, ctypes.c_uint, ctypes.c_int)
    return call if call(0xFFFFFFFE, 0xFFFFFFFF, 0) == 0 else None  # a range with nothing open in it


CLOSE_RANGE = close_range_call()
# The environment judged code sees; HOME and TMPDIR are set to each child's workdir before it is forked.
CHILD_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "", "TMPDIR": "", "LANG": "C.UTF-8"}


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
        self.suite_cpu = None  # the suite's CPU budget, when that ran out rather than the test's limit
        self.cancelled = False
        self.output_tail = b""


# A recording suite's output lines carry pickled outputs: allow them to be long.
RESULT_LINE_BYTES, OUTPUT_LINE_BYTES = 1 << 16, 1 << 28


class Batch:
    """What the worker learned about one child running tests start.. of a program."""

    def __init__(self, start, suite, cpu_cap):
        limits = suite.limits
        self.start = start
        self.limits = limits  # CPU seconds per test
        self.stop_at_failure = suite.stop_at_failure
        self.failed = False  # a test (input) has reported a failure
        self.cpu_cap = cpu_cap  # the child's CPU seconds at which the suite's whole budget is spent (None: no cap)
        self.total_cpu = suite.total_cpu
        self.suite_cap_exceeded = False
        self.outputs = {}  # input index -> base64 pickle, when recording
        self.max_line = OUTPUT_LINE_BYTES if suite.recording else RESULT_LINE_BYTES
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
        self.pending = []  # the unterminated line's chunks (joined once it ends: lines may be long)
        self.pending_bytes = 0
        self.message_for = None  # the report an 'M' line completes
        self.clear = None  # set when the child is left for the caller to clear away (every test reported)

    def complete(self, count):
        """Every test has reported (or, stopping at the first failure, one failed), the last failure's
        message included: nothing more to wait for."""
        return (self.next == count or (self.stop_at_failure and self.failed)) and self.message_for is None

    def feed(self, data, tag):
        """Parses complete result lines; lines without this child's nonce are ignored. Returns
        True when a test started or reported (the wall-clock deadline restarts)."""
        if b"\n" not in data:
            self.pending.append(data)
            self.pending_bytes += len(data)
            if self.pending_bytes > self.max_line:
                self.pending, self.pending_bytes = [], 0
            return False
        lines = (b"".join(self.pending) + data).split(b"\n")
        tail = lines.pop()
        self.pending, self.pending_bytes = [tail], len(tail)
        progressed = False
        for line in lines:
            text = line.decode("ascii", "replace")
            if not text.startswith(tag):
                continue
            fields = text[len(tag):].split(" ")
            try:
                progressed |= self.line(fields)
            except (IndexError, ValueError):
                pass
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
            self.failed |= entry[0] is not None
            self.reported[self.next] = entry
            if len(fields) > 3:
                self.cpu[self.next] = float(fields[3])
            self.message_for = entry if entry[0] is not None else None  # only a failure's message follows
            self.next += 1
            return True
        elif kind == "O" and self.running == self.next and int(fields[1]) == self.next:
            self.outputs[self.next] = fields[2]
        elif kind == "M" and self.message_for is not None and self.message_for[1] is None:
            self.message_for[1] = decode_field(fields[2])
            self.message_for = None
        return False


def encode_field(text):
    return text.encode("utf-8", "backslashreplace").hex()


def decode_field(hex_text):
    return bytes.fromhex(hex_text).decode("utf-8", "replace")


# ---- MBPP+ (EvalPlus) call suites ------------------------------------------------------------------
# MBPP+ stores every input as JSON; EvalPlus turns lists back into tuples, sets and complex numbers for
# these tasks when it loads them (evalplus/data/mbpp.py), so the canonical solutions get the types they
# were written for. Each entry maps one input (a list of arguments) to the arguments to call with.
def _deep_tuple(value):
    return tuple(_deep_tuple(item) for item in value) if isinstance(value, list) else value


INPUT_SHAPES = {}
for _tasks, _shape in (
    ((2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809),
     lambda inp: [tuple(arg) for arg in inp]),
    ((63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780),
     lambda inp: [[tuple(item) for item in arg] for arg in inp]),
    ((75, 413, 444, 753), lambda inp: [[tuple(item) for item in inp[0]], inp[1]]),
    ((106, 750), lambda inp: [inp[0], tuple(inp[1])]),
    ((115,), lambda inp: [[set(item) if isinstance(item, list) and item else {} for item in inp[0]]]),
    ((124,), lambda inp: (float(inp[0]), complex(inp[1]))),
    ((250, 405, 446, 617, 720, 763, 808), lambda inp: [tuple(inp[0]), inp[1]]),
    ((259, 401, 445), lambda inp: [tuple(tuple(item) for item in arg) for arg in inp]),
    ((278,), lambda inp: [tuple(tuple(item) if isinstance(item, list) else item for item in inp[0])]),
    ((307,), lambda inp: [tuple(inp[0]), inp[1], inp[2]]),
    ((722,), lambda inp: [{key: tuple(value) for key, value in inp[0].items()}] + inp[1:]),
    ((252,), lambda inp: [complex(inp[0])]),
    ((580, 615, 791), _deep_tuple),
):
    for _task in _tasks:
        INPUT_SHAPES[_task] = _shape


def load_inputs(task_id, text):
    """A suite's inputs as Python values, as EvalPlus loads them (`{}` is an empty suite)."""
    inputs = json.loads(text)  # Python's JSON: Infinity and NaN read as the floats they are
    if inputs == {}:
        return []
    if not isinstance(inputs, list) or not all(isinstance(inp, list) for inp in inputs):
        raise ValueError("inputs must be a list of argument lists")
    shape = INPUT_SHAPES.get(task_id)
    return [shape(inp) for inp in inputs] if shape else inputs


# EvalPlus's special oracles (evalplus/eval/_special_oracle.py): outputs compared as sets, outputs that
# only need to be not None (the canonical output recorded is whether it was), and two tasks whose
# prompt admits a second reading, accepted beside the canonical answer.
SET_EQUAL_ENTRY_POINTS = frozenset({"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                                    "larg_nnum", "intersection_array", "find_dissimilar", "Diff"})
NOT_NONE_ENTRY_POINTS = frozenset({"check_str", "text_match_three", "text_starta_endb"})


def surface_area_oracle(base_edge, height):
    """Mbpp/581 read with `height` as the pyramid's perpendicular height."""
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 4 * (base_edge * slant) / 2)  # EvalPlus's own arithmetic, to round alike


def digit_distance_oracle(num1, num2):
    """Mbpp/558 with the shorter number zero-padded."""
    first, second = str(num1), str(num2)
    width = max(len(first), len(second))
    return sum(abs(int(a) - int(b)) for a, b in zip(first.zfill(width), second.zfill(width)))


def is_floats(value):
    """EvalPlus's test for a float-valued output: a float, or a non-empty list or tuple of floats."""
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(item, float) for item in value)


def all_close(out, exp, rtol, atol):
    """numpy.allclose(out, exp, rtol, atol) for numbers and equally shaped nested lists/tuples of numbers:
    |out - exp| <= atol + rtol * |exp| everywhere, equal infinities close, NaN never. Unlike numpy, shapes
    must match exactly (no broadcasting) and integers are compared exactly at any size."""
    number = (int, float, complex)
    if isinstance(out, number) and isinstance(exp, number):
        if out == exp:
            return True
        if any(isinstance(v, float) and (math.isinf(v) or math.isnan(v)) for v in (out, exp)):
            return False
        return abs(out - exp) <= atol + rtol * abs(exp)
    if isinstance(out, (list, tuple)) and isinstance(exp, (list, tuple)) and len(out) == len(exp):
        return all(all_close(a, b, rtol, atol) for a, b in zip(out, exp))
    raise TypeError(f"cannot compare {type(out).__name__} with {type(exp).__name__} within a tolerance")


class OutputCheck:
    """EvalPlus's verdict on one output (evalplus/eval/__init__.py, unsafe_execute), state included: once an
    expected output is a float, the task's atol of 0 becomes 1e-6 for that input and every one after it."""

    def __init__(self, entry_point, atol):
        self.entry_point = entry_point
        self.atol = atol

    def passes(self, inp, out, exp):
        entry_point = self.entry_point
        exact = out == exp
        if entry_point == "are_equivalent":
            exact = True
        elif entry_point == "sum_div":
            exact = exact or out == 0
        elif entry_point == "surface_Area":
            exact = exact or abs(out - surface_area_oracle(*inp)) <= self.atol
        elif entry_point == "digit_distance_nums":
            exact = exact or out == digit_distance_oracle(*inp)
        elif entry_point in SET_EQUAL_ENTRY_POINTS:
            exact = set(out) == set(exp)
        elif entry_point in NOT_NONE_ENTRY_POINTS:
            exact = out == exp if isinstance(out, bool) else exp == (out is not None)
        if self.atol == 0 and is_floats(exp):
            self.atol = 1e-6
        if not exact and self.atol != 0:
            if type(out) is not type(exp):
                return False
            if isinstance(exp, (list, tuple)) and len(out) != len(exp):
                return False
            return all_close(out, exp, 1e-7, self.atol)
        return bool(exact)


# Expected outputs are pickles the canonical solution's sandboxed run produced: the worker (trusted)
# reads them with only these classes reachable, so a pickle cannot make it call anything else.
EXPECTED_CLASSES = frozenset({
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "bytearray"),
    ("builtins", "range"), ("builtins", "slice"), ("builtins", "list"), ("builtins", "dict"), ("builtins", "tuple"),
    ("builtins", "int"), ("builtins", "float"), ("builtins", "str"), ("builtins", "bytes"), ("builtins", "bool"),
    ("collections", "OrderedDict"), ("collections", "Counter"), ("collections", "defaultdict"), ("collections", "deque"),
    ("decimal", "Decimal"), ("fractions", "Fraction"),
})


class ExpectedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in EXPECTED_CLASSES:
            raise pickle.UnpicklingError(f"an expected output holds a {module}.{name}, which the judge does not read")
        return super().find_class(module, name)


def encode_output(value):
    """An output as the ground truth keeps it: pickled, compressed (some run to hundreds of MB), base64."""
    return base64.b64encode(zlib.compress(pickle.dumps(value, 4), 1)).decode("ascii")


def decode_output(text):
    return ExpectedUnpickler(io.BytesIO(zlib.decompress(base64.b64decode(text)))).load()


class ExpectedOutputs:
    """The last suite's expected outputs, decoded in the worker so that every child it forks for the
    same suite (the samples of a task arrive together) shares them: decoding the largest takes seconds,
    which must count against no program's limits."""

    def __init__(self):
        self.key = None
        self.values = None

    def get(self, blobs):
        digest = hashlib.sha1()
        for blob in blobs:
            digest.update(blob.encode("ascii"))
            digest.update(b"\0")
        key = digest.digest()
        if key != self.key:
            self.key, self.values = None, None  # drop the old ones before decoding the new
            self.values = [decode_output(blob) for blob in blobs]
            self.key = key
        return self.values


EXPECTED_OUTPUTS = ExpectedOutputs()


def check_outputs(outputs, results):
    """A recorded output the judge could not read back (it holds more than plain data, e.g. a numpy array)
    fails its input now, so the ground truth is refused up front rather than every program judged later."""
    for index, blob in enumerate(outputs):
        if blob is not None:
            try:
                decode_output(blob)
            except (pickle.UnpicklingError, zlib.error, ValueError, EOFError) as error:
                outputs[index] = None
                results[index] = {"passed": False, "error_type": "UnreadableOutput", "message": str(error)[:MESSAGE_CHARS]}


def short_repr(value, limit=100):
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 - judged objects may refuse
        return "<unprintable>"
    return text if len(text) <= limit else text[:limit] + "..."


def call_runner(calls, namespace, send):
    """What runs one input of a call suite in the child: call the entry point on a deep copy of the input,
    then judge the output (raising AssertionError on a wrong one) or send it back encoded. Built before
    any judged code runs."""
    inputs, entry_point, expected = calls["loaded"], calls["entryPoint"], calls.get("expectedValues")
    _deepcopy, _encode, _AssertionError, _str = copy.deepcopy, encode_output, AssertionError, str
    check = OutputCheck(entry_point, calls["atol"])
    passes = check.passes
    function = []

    def bind():  # once the program has loaded: a missing entry point fails the program, as in EvalPlus
        if entry_point not in namespace:
            raise NameError(f"name {entry_point!r} is not defined")
        function.append(namespace[entry_point])

    def run(index):
        out = function[0](*_deepcopy(inputs[index]))
        if expected is None:
            if entry_point in NOT_NONE_ENTRY_POINTS:
                out = out is not None
            send("O " + _str(index) + " " + _encode(out))
            return
        exp = expected[index]
        if not passes(inputs[index], out, exp):
            raise _AssertionError(f"expected {short_repr(exp)}, got {short_repr(out)}")

    return bind, run


class Suite:
    """One job's work: assert tests (source code) or a call suite (MBPP+ inputs), each entry's CPU
    limit, and when the rest of it is not worth running."""

    def __init__(self, job, default_cpu):
        calls = job.get("calls")
        self.calls = calls
        self.challenge = job.get("challengeTests")
        if calls is None:
            self.tests = job["tests"] + (self.challenge or [])
            self.visible = len(job["tests"])  # the rest are challenge tests
        else:
            calls["loaded"] = load_inputs(calls["taskId"], calls["inputs"])
            if len(calls["loaded"]) != calls["count"]:
                raise ValueError(f"{len(calls['loaded'])} inputs where the job says {calls['count']}")
            if "expected" in calls:
                if len(calls["expected"]) != calls["count"]:
                    raise ValueError(f"{len(calls['expected'])} expected outputs for {calls['count']} inputs")
                calls["expectedValues"] = EXPECTED_OUTPUTS.get(calls["expected"])
            self.tests = None
            self.visible = calls["count"]
        self.count = len(self.tests) if self.tests is not None else calls["count"]
        self.limits = job.get("cpuLimits") or [default_cpu] * self.count
        self.recording = calls is not None and "expected" not in calls
        # EvalPlus's fast_check: the first failing input decides the suite's label.
        self.stop_at_failure = calls is not None and bool(calls["stopAtFirstFailure"])
        # Assert tests stop paying after a Timeout (the label is known); EvalPlus's detailed mode goes on.
        self.skip_after_timeout = calls is None or self.stop_at_failure
        self.total_cpu = calls.get("totalCpuSeconds") if calls is not None else None
        self.memory_mb = max(LIMITS["memoryMb"], calls.get("memoryMb") or 0) if calls is not None else LIMITS["memoryMb"]


def child_main(program, setup, suite, start, result_fd, output_fd, nonce, workdir):
    """Runs in the forked child: the program and setup once, then tests (or calls) start.. in order, reporting
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
    tests, count, stop_at_failure = suite.tests, suite.count, suite.stop_at_failure
    limits = [int(limit) for limit in suite.limits]
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
        if CLOSE_RANGE is not None:
            CLOSE_RANGE(4, 0xFFFFFFFF, 0)
        else:
            for fd in os.listdir("/proc/self/fd"):  # closerange over the whole table costs ~20 ms without close_range(2)
                if int(fd) > 3:
                    try:
                        os.close(int(fd))
                    except OSError:
                        pass
        os.chdir(workdir)
        if LEVEL != "none":
            for limit, value in (
                (resource.RLIMIT_AS, suite.memory_mb << 20),
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
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        for number in (signal.SIGPIPE, signal.SIGTERM, signal.SIGINT):
            _signal.signal(number, _signal.SIG_DFL)  # the C function: signal.signal's enum wrapping costs ~50 us here
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
        bind_entry_point, run_call = call_runner(suite.calls, namespace, send) if suite.calls is not None else (None, None)
        try:
            _exec(_compile(program, "<program>", "exec"), namespace)
            if setup:
                _exec(_compile(setup, "<setup>", "exec"), namespace)
            if bind_entry_point is not None:
                bind_entry_point()
        except _BaseException as error:
            report("P", error)
            _exit(0)
        send("L")
        for index in range(start, count):
            before = cpu_used()
            budget = int(before) + 1 + limits[index]
            if budget > cpu_hard:  # only when judged code kept running past SIGXCPU: the rest go to a fresh child
                _exit(72)
            _setrlimit(_RLIMIT_CPU, (budget, cpu_hard))
            send("S " + _str(index) + " " + _str(budget) + " " + _str(before + limits[index]))
            try:
                if run_call is None:
                    _exec(_compile(tests[index], "<test>", "exec"), namespace)
                else:
                    run_call(index)
            except _BaseException as error:
                report("V " + _str(index), error, " " + _str(_round(cpu_used() - before, 6)))
                if stop_at_failure:
                    _exit(0)
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


def other_children(child_pid):
    """Whether the worker has children besides the judged child and the uid killer. Every process
    judged code starts descends from the worker (a subreaper: orphans come back to it), so with
    none, the child was alone; None where the kernel does not list children."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children", "rb") as listing:
            children = {int(pid) for pid in listing.read().split()}
    except OSError:
        return None
    return bool(children - {child_pid, UID_KILLER.pid})


def kill_tree(child_pid):
    """Leaves nothing of the test behind: its session, and every process it started. Returns the
    child's wait status and CPU seconds (collected before anything else is reaped)."""
    try:
        os.killpg(child_pid, signal.SIGKILL)
    except OSError:
        pass
    _, status, usage = os.wait4(child_pid, 0)
    # The judged child is gone; whatever it started is now the worker's child (subreaper). Only then
    # is a round of kill(-1) as the sandbox uid needed: most programs start nothing.
    alone = other_children(child_pid) is False
    if UID is not None and not alone:
        UID_KILLER.kill_all()
    if UID is None and not alone:
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


def run_batch(program, setup, suite, start, job_id, cpu_cap):
    """Forks one child for tests start.. and watches it: result pipe, output pipe, exit, wall cap
    (restarted whenever a test starts or reports), CPU (the test's limit, and `cpu_cap` for the
    suite's whole budget), cancel. Returns the Batch once the child and everything it started are
    gone; or, once every test has reported, at once with `batch.clear` set to do that, so the reply
    need not wait for the child to exit and be cleared away."""
    batch = Batch(start, suite, cpu_cap)
    count = suite.count
    nonce = secrets.token_hex(16)
    tag = nonce + " "
    workdir = make_workdir()
    if LEVEL != "none":
        os.environ.update(HOME=workdir, TMPDIR=workdir)  # in the worker: each page the child writes costs it a copy
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(result_r)
            os.close(output_r)
            child_main(program, setup, suite, start, result_w, output_w, nonce, workdir)
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
        while not exited and not batch.complete(count):
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                batch.wall_exceeded = True
                break
            if now >= next_cpu_check:
                next_cpu_check = now + CPU_CHECK_SECONDS
                used = cpu_time(pid)
                if used >= batch.deadline or (cpu_cap is not None and used >= cpu_cap):
                    batch.cpu_exceeded = True
                    batch.suite_cap_exceeded = used < batch.deadline
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
        if batch.complete(count) and not batch.cancelled:
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
    if verdict.suite_cpu is not None:
        return {"passed": False, "error_type": "Timeout",
                "message": f"the suite exceeded its total CPU budget of {verdict.suite_cpu} s"}, unloaded
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
    if batch.suite_cap_exceeded:
        verdict.suite_cpu = batch.total_cpu
    return verdict


def run_tests(program, setup, suite, job_id):
    """Runs the tests (or calls) as batches: one child from the first test on, and after a child dies
    mid-batch, a fresh one from the first test without a verdict. The test that was running when a
    child died gets the verdict its death means. A program that fails to load fails every
    remaining test the same way. Once a test times out the label is known (not correct), and the
    tests after it are not run: they get `Skipped`, so an endless loop costs one limit, not one
    per test (a call suite in detailed mode goes on instead, as EvalPlus does; stopping at the first
    failure, any failure ends it). Returns the results, each test's CPU seconds (None where it did
    not report), the recorded outputs (when recording), and what clears the last child away (to
    call once the reply is out); None when the job was cancelled."""
    count = suite.count
    results = [None] * count
    cpu = [None] * count
    outputs = [None] * count if suite.recording else None
    noun = "input" if suite.calls is not None else "test"
    start = 0
    spent = 0.0  # CPU the suite's earlier children used, against its total budget

    def skip_rest(after, why):
        skipped = {"passed": False, "error_type": "Skipped", "message": f"not run: {noun} {after} {why}"}
        for index in range(after + 1, count):
            results[index] = dict(skipped)

    while start < count:
        cpu_cap = None if suite.total_cpu is None else max(0.0, suite.total_cpu - spent)
        batch = run_batch(program, setup, suite, start, job_id, cpu_cap)
        if batch.cancelled:
            return None
        for index in range(start, batch.next):
            results[index] = to_result(reported_verdict("V", batch.reported[index]))[0]
            cpu[index] = batch.cpu.get(index)
            if outputs is not None:
                outputs[index] = batch.outputs.get(index)
        first_failure = next((index for index in range(start, batch.next) if not results[index]["passed"]), None)
        start = batch.next
        if start == count:
            return results, cpu, outputs, batch.clear
        if suite.stop_at_failure and first_failure is not None:
            skip_rest(first_failure, "failed")
            return results, cpu, outputs, batch.clear
        spent += batch.cpu_seconds
        if batch.program is not None or not batch.loaded:
            verdict = reported_verdict("P", batch.program) if batch.program is not None else death_verdict(batch)
            failure = to_result(verdict)[0]
            for index in range(start, count):
                results[index] = dict(failure)
            break
        if batch.running is None or batch.running == start:
            # The child died in test `start` (or before announcing it): that test pays for it.
            results[start] = to_result(death_verdict(batch))[0]
            start += 1
            timed_out = results[start - 1]["error_type"] == "Timeout"
            if suite.stop_at_failure or (timed_out and suite.skip_after_timeout):
                skip_rest(start - 1, "timed out" if timed_out else "failed")
                break
        # else it died between reporting a test and starting the next: nothing to charge, the rest
        # go to a fresh child
    return results, cpu, outputs, None


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
    if LEVEL != "none":
        # Inherited by every child (the worker execs nothing), as is the environment: set once here.
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        os.environ.clear()
        os.environ.update(CHILD_ENVIRONMENT)
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
        try:
            suite = Suite(job, LIMITS["cpuSeconds"])
        except (KeyError, TypeError, ValueError, pickle.UnpicklingError, zlib.error) as error:  # the job, not judged code: a failed record
            send({"id": job_id, "error": f"cannot read the job: {type(error).__name__}: {error}"})
            continue
        ran = run_tests(job["code"], job["setup"], suite, job_id)
        if ran is None:
            send({"id": job_id, "cancelled": True})
            continue
        results, cpu, outputs, clear = ran
        if outputs is not None:
            check_outputs(outputs, results)
        # Challenge tests ran after the tests, in the same batch (one process, as one exec would).
        reply = {"id": job_id, "tests": results[:suite.visible],
                 "challenge": results[suite.visible:] if suite.challenge is not None else None, "cpu": cpu}
        if outputs is not None:
            reply["outputs"] = outputs
        send(reply)
        if clear is not None:
            clear()


if __name__ == "__main__":
    main()
