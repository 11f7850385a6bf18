"""One execution layer for pyvtm's batch work (``eval``, ``allocate``, ``dataset``).

Two engines behind one interface, :class:`Engine`:

* :class:`LocalEngine` (``--engine local``, the default): ``jobs`` worker
  processes on this machine (``spawn``), or this process for ``jobs=1``
  without a timeout. Each worker is a long-lived process with its own pipe,
  so the engine knows which task a worker was running when it died or ran
  past the timeout: that task, and only that one, is retried or reported.
* :class:`RayEngine` (``--engine ray``): tasks on a Ray cluster
  (``address``: a running cluster, e.g. ``auto`` or ``ray://head:10001``;
  without one, a local Ray instance with ``jobs`` CPUs), at most ``jobs`` in
  flight. Each task is a streaming generator that first reports that a
  worker took it, so the timeout clock starts there as on the local engine;
  a task whose worker died (``WorkerCrashedError``, out of memory, node lost)
  or that ran past the timeout (cancelled, its worker killed) is submitted
  again by the engine. Needs ``pip install 'pyvtm[ray]'``.

Both run a picklable module-level function ``fn(task)`` over a list of
tasks and yield ``(index, result)`` as tasks finish (any order). A task
that fails for good yields a :class:`TaskFailed` in place of its result
(never raised): the caller decides, the other tasks go on. The progress bar
(:class:`pyvtm.utils.runner.Progress`) is the same on both engines, and so
are the results: the engines only decide where ``fn`` runs.

Failures: ``crash`` (the worker process died: segfault, killed, out of
memory) and ``timeout`` (ran longer than ``timeout`` seconds; the worker is
killed) are retried up to ``retries`` times; a Python exception raised by
``fn`` (``error``) is deterministic and is not retried unless
``retry_exceptions=True``.

Inputs: tasks carry small things (paths, parameters). Input files go
through :meth:`Engine.stage`: the path itself on the local engine; on Ray a
handle whose bytes are put in the object store when the first task that
needs them is submitted (once per file, shared by the tasks of that file,
released after the last), so workers on other nodes need no shared file
system and a large data set is not in the store all at once. A staged
handle may be a task itself or a field of a dict / dataclass / tuple task. Workers read a staged input with :func:`open_input`. Results
come back to the driver, which writes every cache entry itself (the caches
live on the driver's disk whatever the engine).
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import pickle
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from .runner import Progress

__all__ = ["Engine", "LocalEngine", "RayEngine", "TaskFailed", "TaskFailures", "make_engine", "open_input",
           "add_engine_arguments", "engine_from_args", "ENGINES", "default_jobs", "ray_available"]

ENGINES = ("local", "ray")
RAY_HINT = "Ray is not installed: pip install 'pyvtm[ray]' (or pip install 'ray[default]')"


def default_jobs() -> int:
    """Default ``--jobs`` of the local engine: up to 4 processes."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class TaskFailed:
    """A task that failed for good (yielded in place of its result).

    ``kind``: ``"error"`` (fn raised), ``"crash"`` (its worker died),
    ``"timeout"``; ``attempts``: how many times it ran; ``exception``: the
    exception fn raised (kind ``error``), when it could be carried back.
    """

    index: int
    kind: str
    message: str
    attempts: int = 1
    exception: Optional[BaseException] = None

    def describe(self, task: Any = None) -> str:
        what = f"task {self.index}" if task is None else _task_label(task)
        return f"{what}: {self.kind} after {self.attempts} attempt(s): {self.message}"

    def to_json(self, task: Any = None) -> dict:
        return {"index": self.index, "task": None if task is None else _task_label(task), "kind": self.kind,
                "attempts": self.attempts, "message": self.message}


class TaskFailures(RuntimeError):
    """Raised by callers that cannot go on without every result."""

    def __init__(self, failures: Sequence[TaskFailed], tasks: Sequence[Any] = (), hint: str = ""):
        self.failures = list(failures)
        lines = [f.describe(tasks[f.index] if tasks else None) for f in self.failures[:5]]
        more = f"\n  ... and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
        super().__init__(f"{len(self.failures)} task(s) failed:\n  " + "\n  ".join(lines) + more
                         + (f"\n{hint}" if hint else ""))


def _task_label(task: Any) -> str:
    if isinstance(task, dict):
        keys = [k for k in ("codec", "label", "name", "qp", "param") if k in task]
        if keys:
            return " ".join(f"{k}={task[k]}" for k in keys)
    s = repr(task)
    return s if len(s) <= 160 else s[:157] + "..."


def raise_first(failures: Sequence[TaskFailed], tasks: Sequence[Any], hint: str = "") -> None:
    """Raise for ``failures`` (no-op when empty): the task's own exception
    (its type kept, e.g. TypeError for a bad encoder option) when the first
    failure is one, else :class:`TaskFailures`."""
    if not failures:
        return
    f = failures[0]
    if f.kind == "error" and isinstance(f.exception, Exception):
        exc = f.exception
        note = f"({len(failures)} task(s) failed; first: {_task_label(tasks[f.index])})"
        if hint:
            note += f" {hint}"
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        raise exc
    raise TaskFailures(failures, tasks, hint)


# ---------------------------------------------------------------------------
# Worker side


def _worker_init() -> None:
    # One encode per process: keep libraries from spawning their own thread pools.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # torch reads OMP_NUM_THREADS when it is first imported (by the task);
    # a torch already loaded here (Ray's worker may have it) is told directly.
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch.set_num_threads(1)
        except Exception:  # pragma: no cover
            pass


@dataclass(frozen=True)
class StagedInput:
    """An input file moved through Ray's object store (see :meth:`Engine.stage`):
    its path on the driver and, in a submitted task, a reference to its bytes."""

    name: str
    path: str
    ref: Any = None


def open_input(handle):
    """Worker side of :meth:`Engine.stage`: something ``PIL.Image.open`` or
    ``open``-like readers take (a path, or a binary file object)."""
    if isinstance(handle, StagedInput):
        import io

        import ray

        if handle.ref is None:
            return handle.path
        data = ray.get(handle.ref)
        f = io.BytesIO(data)
        f.name = handle.name
        return f
    return handle


def _picklable_exception(e: BaseException) -> Optional[BaseException]:
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:
        return None


def _worker_main(conn) -> None:
    """Loop of a local worker process: (fn, task) in, ("ok", result) or ("err", ...) out."""
    _worker_init()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, task = msg  # unpickling imported fn's module: the task's clock starts now
        try:
            conn.send(("started",))
        except (OSError, EOFError):
            return
        try:
            out = ("ok", fn(task))
        except BaseException as e:  # noqa: BLE001 - reported to the driver
            out = ("err", _picklable_exception(e), f"{type(e).__name__}: {e}", traceback.format_exc())
        try:
            conn.send(out)
        except Exception as e:  # result not picklable
            conn.send(("err", None, f"result of the task cannot be sent back: {e}", ""))


# ---------------------------------------------------------------------------
# Engines


class Engine:
    """Runs ``fn(task)`` over tasks; see the module docstring.

    Use as a context manager (workers are reused across :meth:`map` calls and
    shut down at the end).
    """

    name = "engine"

    def __init__(self, jobs: Optional[int] = None, *, retries: int = 2, timeout: Optional[float] = None,
                 retry_exceptions: bool = False, progress: bool = True):
        if jobs is not None and jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.jobs = jobs
        self.retries = retries
        self.timeout = timeout
        self.retry_exceptions = retry_exceptions
        self.progress = progress
        #: every TaskFailed of this engine's map calls, in order
        self.failures: list[TaskFailed] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def stage(self, path) -> Any:
        """A handle for an input file that workers read with :func:`open_input`."""
        return str(path)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], desc: str = "") -> Iterator[tuple[int, Any]]:
        """Yields ``(index, result or TaskFailed)`` as tasks complete (any order)."""
        bar = Progress(len(tasks), desc, enabled=self.progress)
        try:
            for i, r in self._map(fn, list(tasks)):
                if isinstance(r, TaskFailed):
                    self.failures.append(r)
                bar.update()
                yield i, r
        finally:
            bar.close()

    def _map(self, fn, tasks):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        return {"engine": self.name, "jobs": self.jobs, "retries": self.retries, "timeout": self.timeout}


class _Proc:
    """One local worker process and its pipe."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.job: Optional[tuple[int, int, float]] = None  # (index, attempt, start time or inf)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        except Exception:  # pragma: no cover
            pass
        try:
            self.conn.close()
        except Exception:  # pragma: no cover
            pass

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(5)
        except Exception:
            pass
        if self.proc.is_alive():
            self.kill()
        else:
            self.conn.close()


class LocalEngine(Engine):
    """Worker processes on this machine (see the module docstring)."""

    name = "local"

    def __init__(self, jobs: Optional[int] = None, **kw):
        super().__init__(jobs if jobs is not None else default_jobs(), **kw)
        self._procs: list[_Proc] = []
        # "spawn": forking a process whose torch / OpenMP runtime has already
        # started threads is unsafe (the child may crash).
        self._ctx = multiprocessing.get_context("spawn")

    def close(self) -> None:
        for p in self._procs:
            p.stop()
        self._procs = []

    def _map(self, fn, tasks):
        if not tasks:
            return
        if self.timeout is None and (self.jobs == 1 or len(tasks) == 1):
            yield from self._map_inline(fn, tasks)
        else:
            yield from self._map_pool(fn, tasks)

    def _map_inline(self, fn, tasks):
        for i, t in enumerate(tasks):
            attempt = 1
            while True:
                try:
                    r = fn(t)
                    break
                except Exception as e:  # noqa: BLE001 - reported
                    if self.retry_exceptions and attempt <= self.retries:
                        attempt += 1
                        continue
                    r = TaskFailed(i, "error", f"{type(e).__name__}: {e}", attempt, e)
                    break
            yield i, r

    def _map_pool(self, fn, tasks):
        pending = deque((i, 1) for i in range(len(tasks)))
        busy: list[_Proc] = []
        idle = [p for p in self._procs if p.proc.is_alive()]
        for p in self._procs:
            if p not in idle:
                p.kill()
        self._procs = list(idle)
        try:
            while pending or busy:
                while pending and (idle or len(self._procs) < self.jobs):
                    if idle:
                        w = idle.pop()
                    else:
                        w = _Proc(self._ctx)
                        self._procs.append(w)
                    i, att = pending.popleft()
                    try:
                        w.conn.send((fn, tasks[i]))
                    except (OSError, EOFError, BrokenPipeError):
                        self._replace(w)
                        pending.appendleft((i, att))
                        continue
                    except Exception as e:  # the task itself cannot be pickled
                        idle.append(w)
                        yield i, TaskFailed(i, "error", f"task cannot be sent to a worker: {e}", att)
                        continue
                    w.job = (i, att, float("inf"))  # its clock starts when the worker takes it
                    busy.append(w)
                wait = 1.0
                if self.timeout is not None:
                    now = time.monotonic()
                    wait = max(0.01, min([w.job[2] + self.timeout - now for w in busy
                                          if w.job[2] != float("inf")] + [wait]))
                multiprocessing.connection.wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                                                timeout=wait)
                for w in list(busy):
                    i, att, t0 = w.job
                    outcome = None  # ("ok", r) | (kind, message, exc)
                    while outcome is None and w.conn.poll():
                        try:
                            msg = w.conn.recv()
                            if msg[0] == "started":
                                t0 = time.monotonic()
                                w.job = (i, att, t0)
                            elif msg[0] == "ok":
                                outcome = ("ok", msg[1], None)
                            else:
                                outcome = ("error", msg[2], msg[1])
                        except (EOFError, OSError, pickle.UnpicklingError) as e:
                            outcome = ("crash", f"worker process died ({_exit_text(w.proc)}) before its result "
                                                f"was read ({type(e).__name__})", None)
                    if outcome is None and not w.proc.is_alive():
                        outcome = ("crash", f"worker process died ({_exit_text(w.proc)})", None)
                    elif outcome is None and self.timeout is not None and time.monotonic() - t0 > self.timeout:
                        outcome = ("timeout", f"ran longer than {self.timeout:g} s (worker killed)", None)
                    if outcome is None:
                        continue
                    busy.remove(w)
                    w.job = None
                    kind, val, exc = outcome
                    if kind == "ok":
                        idle.append(w)
                        yield i, val
                        continue
                    if kind == "error":
                        idle.append(w)
                    else:
                        self._replace(w)
                    if att <= self.retries and (kind != "error" or self.retry_exceptions):
                        pending.append((i, att + 1))
                    else:
                        yield i, TaskFailed(i, kind, val, att, exc)
        finally:
            # A caller that stopped early leaves tasks running: those workers go.
            for w in busy:
                self._replace(w)

    def _replace(self, w: _Proc) -> None:
        w.kill()
        if w in self._procs:
            self._procs.remove(w)


def _exit_text(proc) -> str:
    proc.join(0.5)
    code = proc.exitcode
    if code is None:
        return "still running"
    if code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def ray_available() -> bool:
    try:
        import ray  # noqa: F401

        return True
    except ImportError:
        return False


_STARTED = "pyvtm.engine:started"


def _ray_call(fn, task):
    """Ray task (a streaming generator): first a marker when the worker takes
    the task (the driver starts its clock then), then fn's result."""
    _worker_init()
    yield _STARTED
    yield fn(task)


def _ray_version_probe() -> dict:
    import pyvtm

    return {"pyvtm": pyvtm.__version__, "python": sys.version.split()[0]}


class RayEngine(Engine):
    """Tasks on a Ray cluster (see the module docstring).

    ``address``: a running cluster (``"auto"``, ``"host:6379"``,
    ``"ray://head:10001"``); None: the running Ray of this process if any,
    else ``$RAY_ADDRESS``, else a new local instance with ``jobs`` CPUs (shut
    down by :meth:`close`). ``jobs``: at most this many tasks in flight
    (default: the cluster's CPUs). ``init_kwargs`` go to ``ray.init``.
    """

    name = "ray"

    def __init__(self, jobs: Optional[int] = None, *, address: Optional[str] = None,
                 init_kwargs: Optional[dict] = None, **kw):
        super().__init__(jobs, **kw)
        try:
            import ray
        except ImportError as e:
            raise ImportError(RAY_HINT) from e
        self._ray = ray
        self.address = address
        self._owns = False
        if not ray.is_initialized():
            import pyvtm

            kwargs = {"include_dashboard": False, "log_to_driver": False}
            if address is None and not os.environ.get("RAY_ADDRESS"):
                # Local instance: its workers import this very pyvtm.
                pkg_root = str(Path(pyvtm.__file__).resolve().parent.parent)
                path = os.pathsep.join([pkg_root] + [p for p in [os.environ.get("PYTHONPATH")] if p])
                kwargs["num_cpus"] = jobs if jobs is not None else (os.cpu_count() or 1)
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            kwargs.update(init_kwargs or {})
            ray.init(address=address, **kwargs)
            self._owns = True
            try:
                probe = ray.get(ray.remote(num_cpus=0)(_ray_version_probe).remote(), timeout=600)
            except Exception as e:
                self.close()
                raise RuntimeError(f"the Ray workers cannot run pyvtm ({type(e).__name__}: "
                                   f"{str(e).strip().splitlines()[-1] if str(e).strip() else ''}): install "
                                   f"pyvtm {pyvtm.__version__} on every node of the cluster") from e
            if probe["pyvtm"] != pyvtm.__version__:
                self.close()
                raise RuntimeError(f"the Ray workers run pyvtm {probe['pyvtm']}, this driver pyvtm "
                                   f"{pyvtm.__version__}: install the same pyvtm on every node")
        if self.jobs is None:
            self.jobs = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # The engine retries (not Ray) so that attempts and the timeout clock are
        # counted alike on both engines.
        self._remote = ray.remote(num_cpus=1, num_returns="streaming", max_retries=0)(_ray_call)
        self._staged: dict[str, StagedInput] = {}

    def close(self) -> None:
        self._staged = {}
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False

    def stage(self, path) -> Any:
        # The bytes go to the object store when the first task that needs them is
        # submitted, and are let go after the last one finished (see _map): a big
        # data set is never in the store all at once.
        key = str(Path(path).resolve())
        h = self._staged.get(key)
        if h is None:
            h = StagedInput(Path(path).name, key)
            self._staged[key] = h
        return h

    def _inputs(self, task) -> list[StagedInput]:
        if isinstance(task, dict):
            vals = list(task.values())
        elif dataclasses.is_dataclass(task) and not isinstance(task, type):
            vals = [getattr(task, f.name) for f in dataclasses.fields(task)]
        elif isinstance(task, (list, tuple)):
            vals = list(task)
        else:
            vals = [task]
        return [v for v in vals if isinstance(v, StagedInput) and v.ref is None]

    def _with_refs(self, task, refs: dict):
        def sub(v):
            return dataclasses.replace(v, ref=refs[v.path]) if isinstance(v, StagedInput) and v.ref is None else v

        if isinstance(task, dict):
            return {k: sub(v) for k, v in task.items()}
        if dataclasses.is_dataclass(task) and not isinstance(task, type):
            return dataclasses.replace(task, **{f.name: sub(getattr(task, f.name)) for f in dataclasses.fields(task)
                                                if f.init})
        if isinstance(task, tuple):
            return type(task)(sub(v) for v in task) if not hasattr(task, "_fields") else type(task)(
                *(sub(v) for v in task))
        if isinstance(task, list):
            return [sub(v) for v in task]
        return sub(task)

    def _map(self, fn, tasks):
        ray = self._ray
        from ray import exceptions as rex

        inf = float("inf")
        pending = deque((i, 1) for i in range(len(tasks)))
        inflight: dict[Any, list] = {}  # generator -> [index, attempt, start time or inf]
        needs = [[h.path for h in self._inputs(t)] for t in tasks]
        uses: dict[str, int] = {}
        for paths in needs:
            for p in paths:
                uses[p] = uses.get(p, 0) + 1
        refs: dict[str, Any] = {}  # input path -> object ref, while a task still needs it

        def done(i):
            for p in needs[i]:
                uses[p] -= 1
                if uses[p] == 0:
                    refs.pop(p, None)

        try:
            while pending or inflight:
                while pending and len(inflight) < self.jobs:
                    i, att = pending.popleft()
                    for p in needs[i]:
                        if p not in refs:
                            refs[p] = ray.put(Path(p).read_bytes())
                    task = self._with_refs(tasks[i], refs) if needs[i] else tasks[i]
                    inflight[self._remote.remote(fn, task)] = [i, att, inf]
                wait = 1.0
                if self.timeout is not None:
                    now = time.monotonic()
                    wait = max(0.01, min([t + self.timeout - now for _, _, t in inflight.values() if t != inf]
                                         + [wait]))
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=wait)
                for gen in ready:
                    i, att, _ = inflight[gen]
                    fail = None
                    try:
                        val = ray.get(next(gen))
                        if isinstance(val, str) and val == _STARTED:
                            inflight[gen][2] = time.monotonic()
                            continue
                        inflight.pop(gen)
                        done(i)
                        yield i, val
                        continue
                    except rex.RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        exc = cause if isinstance(cause, BaseException) else None
                        msg = (f"{type(exc).__name__}: {exc}" if exc is not None
                               else str(e).strip().splitlines()[-1])
                        fail = ("error", msg, exc)
                    except StopIteration:
                        fail = ("crash", "the task ended without a result", None)
                    except rex.RayError as e:  # worker died, out of memory, node died, ...
                        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                        fail = ("crash", f"{type(e).__name__}: {first}", None)
                    inflight.pop(gen)
                    kind, msg, exc = fail
                    if att <= self.retries and (kind != "error" or self.retry_exceptions):
                        pending.append((i, att + 1))
                    else:
                        done(i)
                        yield i, TaskFailed(i, kind, msg, att, exc)
                if self.timeout is not None:
                    now = time.monotonic()
                    for gen, (i, att, t0) in list(inflight.items()):
                        if now - t0 <= self.timeout:
                            continue
                        inflight.pop(gen)
                        try:
                            ray.cancel(gen, force=True)
                        except Exception:  # pragma: no cover - already finished
                            pass
                        if att <= self.retries:
                            pending.append((i, att + 1))
                        else:
                            done(i)
                            yield i, TaskFailed(i, "timeout", f"ran longer than {self.timeout:g} s (cancelled)",
                                                att)
        finally:
            for gen in inflight:
                try:
                    ray.cancel(gen, force=True)
                except Exception:  # pragma: no cover
                    pass

    def describe(self) -> dict:
        d = super().describe()
        d["address"] = self.address
        return d


def make_engine(engine: str = "local", jobs: Optional[int] = None, *, address: Optional[str] = None,
                retries: int = 2, timeout: Optional[float] = None, retry_exceptions: bool = False,
                progress: bool = True) -> Engine:
    """An engine by name (``"local"`` or ``"ray"``)."""
    kw = dict(retries=retries, timeout=timeout, retry_exceptions=retry_exceptions, progress=progress)
    if engine == "local":
        if address is not None:
            raise ValueError("--address is for --engine ray")
        return LocalEngine(jobs, **kw)
    if engine == "ray":
        if not ray_available():
            raise ValueError(f"--engine ray: {RAY_HINT}")
        return RayEngine(jobs, address=address, **kw)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


def as_engine(engine, jobs: Optional[int], progress: bool) -> tuple[Engine, bool]:
    """``(engine, owned)``: an Engine passed in is used as it is (not closed by
    the callee); a name or None makes one that the callee closes."""
    if isinstance(engine, Engine):
        return engine, False
    return make_engine(engine or "local", jobs, progress=progress), True


# ---------------------------------------------------------------------------
# Command line


def add_engine_arguments(p: argparse.ArgumentParser, *, resume_help: str = "reuse cached results in OUT/cache",
                         jobs_help: str = "parallel tasks") -> None:
    """``--engine``, ``--address``, ``--jobs``, ``--retries``, ``--timeout``, ``--resume``."""
    g = p.add_argument_group("execution")
    g.add_argument("--engine", choices=ENGINES, default="local",
                   help="where tasks run: local processes (default) or a Ray cluster "
                        "(pip install 'pyvtm[ray]')")
    g.add_argument("--address", default=None,
                   help="Ray cluster to join (auto, HOST:6379 or ray://HOST:10001); default: a local Ray "
                        "instance (or $RAY_ADDRESS)")
    g.add_argument("-j", "--jobs", type=int, default=None,
                   help=f"{jobs_help} at once (default: local {default_jobs()}, ray: the cluster's CPUs)")
    g.add_argument("--retries", type=int, default=2,
                   help="retries of a task whose worker crashed or timed out (default 2)")
    g.add_argument("--timeout", type=float, default=None, help="seconds per task before it is killed")
    g.add_argument("--resume", action="store_true", help=resume_help)


def engine_from_args(args, progress: bool = True) -> Engine:
    return make_engine(args.engine, args.jobs, address=args.address, retries=args.retries,
                       timeout=args.timeout, progress=progress)
