"""Task functions for tests/test_engine.py (importable by spawned and Ray workers)."""
import os
import signal
import time
from pathlib import Path


def square(x):
    return x * x


def fail_on_3(x):
    if x == 3:
        raise ValueError("three")
    return x


def kill_once(task):
    """First attempt (marker file absent): writes its pid to the marker and waits to be
    killed (``self``: SIGKILLs itself); later attempts return ``value`` and their pid."""
    marker = Path(task["marker"])
    if task.get("kill", True) and not marker.exists():
        tmp = marker.with_name(marker.name + ".tmp")
        tmp.write_text(str(os.getpid()))
        os.replace(tmp, marker)
        if task.get("self"):
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(task.get("sleep", 60))
        return {"value": None, "pid": os.getpid()}
    return {"value": task["value"], "pid": os.getpid()}


def always_die(task):
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(30)


def sleep_for(task):
    time.sleep(task)
    return task


def count_attempts(task):
    """Appends a line per attempt to task['log'], then raises until the last."""
    with open(task["log"], "a") as f:
        f.write("x\n")
    n = len(Path(task["log"]).read_text().splitlines())
    if n < task["succeed_on"]:
        raise RuntimeError(f"attempt {n}")
    return n


def read_input(handle):
    from pyvtm.utils.engine import open_input

    src = open_input(handle)
    if isinstance(src, (str, os.PathLike)):
        return Path(src).read_bytes()
    return src.read()
