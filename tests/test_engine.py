"""pyvtm.utils.engine, local engine: results, errors, crashes, timeouts, retries; shared CLI options."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _engine_tasks as T  # noqa: E402

from pyvtm.utils import engine as E  # noqa: E402


def _run(eng, fn, tasks):
    return dict(eng.map(fn, tasks))


def kill_when_started(marker: Path, timeout: float = 120.0) -> threading.Thread:
    """Kills (SIGKILL) the worker whose pid appears in ``marker``, from this (the driver's) side."""

    def go():
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                pid = int(marker.read_text())
            except (OSError, ValueError):
                time.sleep(0.05)
                continue
            os.kill(pid, signal.SIGKILL)
            return

    th = threading.Thread(target=go, daemon=True)
    th.start()
    return th


def test_inline_engine_results_and_errors():
    eng = E.LocalEngine(1, progress=False)
    assert _run(eng, T.square, [1, 2, 3]) == {0: 1, 1: 4, 2: 9}
    res = _run(eng, T.fail_on_3, [1, 3])
    assert res[0] == 1
    f = res[1]
    assert isinstance(f, E.TaskFailed) and f.kind == "error" and f.attempts == 1
    assert isinstance(f.exception, ValueError) and "three" in f.message
    assert eng.failures == [f]
    with pytest.raises(ValueError, match="three"):
        E.raise_first([f], [1, 3])


def test_retry_exceptions_inline(tmp_path):
    log = tmp_path / "log"
    eng = E.LocalEngine(1, progress=False, retries=2, retry_exceptions=True)
    assert _run(eng, T.count_attempts, [{"log": str(log), "succeed_on": 3}]) == {0: 3}


def test_pool_engine_killed_worker_retried_crash_timeout_reported(tmp_path):
    """Two worker processes: a task whose worker is killed (SIGKILL from outside) runs again
    and succeeds; a task that kills its worker on every attempt and one that runs past the
    timeout are reported after their retries, the others finish, and the engine goes on."""
    with E.LocalEngine(2, progress=False, retries=1, timeout=20) as eng:
        assert _run(eng, T.square, list(range(5))) == {i: i * i for i in range(5)}
        marker = tmp_path / "pid"
        th = kill_when_started(marker)
        res = _run(eng, T.kill_once, [{"marker": str(marker), "value": 7, "sleep": 60},
                                      {"marker": str(tmp_path / "none"), "value": 8, "sleep": 0, "kill": False}])
        th.join(1)
        assert res[0]["value"] == 7 and res[0]["pid"] != int(marker.read_text())  # ran again, elsewhere
        assert res[1]["value"] == 8
        res = _run(eng, T.always_die, [1])
        assert isinstance(res[0], E.TaskFailed) and res[0].kind == "crash" and res[0].attempts == 2
        assert "SIGKILL" in res[0].message
    with E.LocalEngine(2, progress=False, retries=0, timeout=1.5) as eng:
        res = _run(eng, T.sleep_for, [0.01, 30])
        assert res[0] == 0.01
        assert isinstance(res[1], E.TaskFailed) and res[1].kind == "timeout"
        assert _run(eng, T.square, [3]) == {0: 9}


def test_runner_compat_raises_after_the_others(tmp_path):
    from pyvtm.utils.runner import Runner

    with Runner(1, progress=False) as r:
        got = []
        with pytest.raises(ValueError, match="three"):
            for i, v in r.map(T.fail_on_3, [1, 3, 4]):
                got.append(v)
        assert sorted(got) == [1, 4]


def test_engine_errors_and_ray_hint(monkeypatch):
    with pytest.raises(ValueError):
        E.LocalEngine(0)
    with pytest.raises(ValueError):
        E.make_engine("spark")
    with pytest.raises(ValueError, match="--engine ray"):
        E.make_engine("local", address="auto")
    monkeypatch.setattr(E, "ray_available", lambda: False)
    with pytest.raises(ValueError, match=r"pip install 'pyvtm\[ray\]'"):
        E.make_engine("ray")
    from pyvtm.cli import main

    rc = main(["eval", "nowhere", "--engine", "ray"])
    assert rc == 2


def test_batch_commands_share_options():
    from pyvtm.cli import build_parser

    p = build_parser()
    common = ["-o", "X", "--jobs", "3", "--resume", "--engine", "ray", "--address", "auto",
              "--retries", "1", "--timeout", "60"]
    for argv in (["eval", "d"], ["allocate", "d", "--target-bpp", "0.1"], ["dataset", "cnnif", "d"]):
        a = p.parse_args(argv + common)
        assert (a.out, a.jobs, a.resume, a.engine, a.address, a.retries, a.timeout) == \
            ("X", 3, True, "ray", "auto", 1, 60.0)
        d = p.parse_args(argv)
        assert d.engine == "local" and d.jobs is None and not d.resume and d.retries == 2
    a = p.parse_args(["train", "cnnif", "data.npz.xz", "-o", "run", "--resume"])
    assert a.out == "run" and a.resume
