"""The way the Hugging Face `code_eval` metric (bigcode-evaluation-harness) judges: each program plus its asserts
exec'd in one forked process with a 3 s wall-clock timeout, N programs at a time from a thread pool. No sandbox.

    python3 bench/code-eval-harness.py PROGRAMS.jsonl N_WORKERS > VERDICTS.jsonl

PROGRAMS.jsonl lines: {"key": ..., "program": ...}; prints {"key": ..., "passed": bool} lines.
"""
import json
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 3.0


def on_alarm(signum, frame):
    raise TimeoutError("timed out")


def run(program, result):
    # code_eval swallows the program's output (swallow_io); here it would also corrupt the verdict lines.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        exec(program, {"__name__": "__main__"})
        result.append(True)
    except BaseException:
        result.append(False)


def check(item):
    manager_result = multiprocessing.Manager().list()
    process = multiprocessing.get_context("fork").Process(target=run, args=(item["program"], manager_result))
    process.start()
    process.join(timeout=TIMEOUT + 1)
    if process.is_alive():
        process.kill()
    return {"key": item["key"], "passed": bool(manager_result and manager_result[0])}


def main():
    items = [json.loads(line) for line in open(sys.argv[1])]
    with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
        for verdict in pool.map(check, items):
            print(json.dumps(verdict))


if __name__ == "__main__":
    main()
