"""Shared plumbing of ``pyvtm allocate`` and ``pyvtm eval``.

* :class:`Runner`: runs picklable jobs on local processes (or in this
  process for ``jobs=1``) with a progress bar; a thin wrapper over
  :class:`pyvtm.utils.engine.LocalEngine` (the execution layer, local or Ray).
* :class:`Progress`: tqdm when it is installed, else a plain bar on stderr.
* :func:`list_images`, :func:`file_key`: the images of a folder and a content
  hash used in cache keys.
* :func:`parse_options`: ``key=value`` strings to ``pyvtm.encode`` keywords.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

__all__ = ["Runner", "Progress", "list_images", "file_key", "parse_options", "options_key",
           "write_json_atomic"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


class Progress:
    """Minimal progress bar: tqdm if importable, else a line on stderr."""

    def __init__(self, total: int, desc: str = "", enabled: bool = True):
        self.total = total
        self.desc = desc
        self.n = 0
        self.enabled = enabled and total > 0
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._tqdm = None
        if self.enabled:
            try:
                from tqdm import tqdm

                self._tqdm = tqdm(total=total, desc=desc, unit="enc", file=sys.stderr)
            except ImportError:
                self._tty = sys.stderr.isatty()
                if self._tty:
                    self._draw(force=True)
                else:
                    self._last = self._t0

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and (now - self._last) < (0.2 if self._tty else 10.0):
            return
        self._last = now
        el = now - self._t0
        frac = self.n / self.total if self.total else 1.0
        eta = el / self.n * (self.total - self.n) if self.n else float("nan")
        width = 24
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        line = (f"{self.desc}: [{bar}] {self.n}/{self.total} "
                f"{el:.0f}s elapsed" + (f", ~{eta:.0f}s left" if self.n and self.n < self.total else ""))
        if self._tty:
            sys.stderr.write("\r" + line + ("\n" if self.n >= self.total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def update(self, k: int = 1) -> None:
        if not self.enabled:
            return
        self.n += k
        if self._tqdm is not None:
            self._tqdm.update(k)
        else:
            self._draw(force=self.n >= self.total)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()


class Runner:
    """Runs ``fn(task)`` over tasks on ``jobs`` local processes (``jobs=1``: in this process).

    Kept for callers of the former process-pool runner: a
    :class:`pyvtm.utils.engine.LocalEngine` whose :meth:`map` raises the first
    failure (after the other tasks finished) instead of yielding it. New code
    uses :mod:`pyvtm.utils.engine` (local or Ray engine, failures reported).
    """

    def __init__(self, jobs: int = 1, progress: bool = True):
        from .engine import LocalEngine

        self._engine = LocalEngine(jobs, progress=progress)
        self.jobs = jobs
        self.progress = progress

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._engine.close()

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], desc: str = "") -> Iterator[tuple[int, Any]]:
        """Yields ``(index, result)`` as tasks complete (any order); raises a failure at the end."""
        from .engine import TaskFailed, raise_first

        tasks = list(tasks)
        failed = []
        for i, r in self._engine.map(fn, tasks, desc):
            if isinstance(r, TaskFailed):
                failed.append(r)
            else:
                yield i, r
        raise_first(failed, tasks)


def list_images(folder) -> list[Path]:
    """Image files (by extension) directly in ``folder``, sorted by name."""
    d = Path(folder)
    if not d.is_dir():
        raise ValueError(f"{str(d)!r} is not a directory")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTS)}) in {str(d)!r}")
    return files


def file_key(path) -> str:
    """First 16 hex digits of the SHA-1 of a file's bytes."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _parse_value(v: str) -> Any:
    low = v.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    try:
        return int(v, 0)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def parse_options(items: Optional[Iterable[str]]) -> dict[str, Any]:
    """``["rdoq=0", "max_cu_log2=6"]`` -> ``{"rdoq": False, "max_cu_log2": 6}``.

    Values: true/false/yes/no/on/off are bools, then ints, floats, else
    strings. An int 0/1 given for a boolean option of ``pyvtm.encode``
    (``rdo_split``, ``rdoq``, ``deblocking``, ``cnnif``, ``cnnmc`` and every
    tool switch of :data:`pyvtm.api.TOOL_OPTIONS`) becomes a bool;
    ``chroma_qp_table`` takes a name (identity, vtm, vvenc) or 0/1.
    Items may also be comma-separated (``"rdoq=0,deblocking=0"``).
    """
    out: dict[str, Any] = {}
    from ..api import _BOOL_OPTIONS
    bool_opts = {*_BOOL_OPTIONS, "chroma_qp_table", "cnnif", "cnnmc"}
    for item in items or ():
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise ValueError(f"encoder option {part!r} is not of the form key=value")
            k, v = part.split("=", 1)
            k = k.strip().replace("-", "_")
            val = _parse_value(v)
            if k in bool_opts and isinstance(val, int) and not isinstance(val, bool) and val in (0, 1):
                val = bool(val)
            if k == "postfilter" and isinstance(val, int) and not isinstance(val, bool) and val in (0, 1):
                val = bool(val)  # postfilter=NAME | 1 (msgdn) | 0 (none)
            if k == "postfilter" and val is False:
                continue
            out[k] = val
    return out


def options_key(opts: dict[str, Any]) -> str:
    """Short stable name of an option set for cache paths (``default`` when empty)."""
    if not opts:
        return "default"
    s = json.dumps(opts, sort_keys=True, default=str)
    return hashlib.sha1(s.encode()).hexdigest()[:10]


def options_label(opts: dict[str, Any]) -> str:
    return ",".join(f"{k}={opts[k]}" for k in sorted(opts)) if opts else ""


def write_json_atomic(path, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, default=_json_default))
    os.replace(tmp, path)


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
