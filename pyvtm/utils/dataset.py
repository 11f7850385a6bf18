"""Training sets for the CNN coding tools, made with pyvtm's own encoder.

CNNIF (in-loop filter)
    :func:`build_cnnif_dataset` cuts random crops (even-aligned, default
    256x256) out of RGB images, converts them with :func:`pyvtm.rgb_to_ycbcr`
    (10-bit 4:2:0, BT.601 full range) and encodes each crop with
    :func:`pyvtm.encode` at QPs drawn from a range (default 27..42,
    stratified so that every QP gets about the same number of samples).
    A sample is the pair (original planes, reconstructed planes) plus its QP.
    The reconstruction is the encoder's output, i.e. after deblocking: the
    point where the CNN filter hook runs.

CNNMC (MPM predictor)
    :func:`build_cnnmc_dataset` encodes larger crops (default 512x512, 4x4
    CTUs) with deblocking off (the CNNMC hook sees the reconstruction before
    in-loop filtering; deblocking does not change any coding decision) and
    keeps the luma reconstruction and the RD-chosen luma intra mode of every
    4x4 unit. The modes come from the core::

        _core.encode_picture(y, cb, cr, width, height, qp=qp, deblocking=False
                             [, return_modes=True])
        -> dict with, besides the usual keys,
           "modes":   uint8 (coded_height/4, coded_width/4), IntraPredModeY
                      (0..66) of each 4x4 luma unit,
           "cu_log2": uint8 (same shape), log2 of the (square) luma CU size
                      covering each unit (optional; used for the
                      per-CU accuracy figures).

    ``proxy="gradient"`` replaces them by a cheap stand-in computed from the
    original picture (see :func:`proxy_modes_gradient`). Such data is
    labelled ``mode_source="proxy-gradient"`` in the file and in every model
    trained on it.

Execution: the encodes run on :mod:`pyvtm.utils.engine` (``engine="local"``
processes, the default, or ``"ray"``; ``jobs`` at once). With ``cache=DIR``
each finished task's result is kept in ``DIR`` (one pickle per task, keyed
by the image's content, the crop, the QPs and the pyvtm version), and
``resume=True`` reuses them: an interrupted build of a large set continues
where it stopped. A task that fails for good (after the engine's retries)
is left out and listed in the file's metadata (``meta["failed"]``); the
output is otherwise the same on every engine. Command line::

    pyvtm dataset cnnif|cnnmc|evalset IMG_OR_DIR... -o OUT.npz.xz [--engine ray] [--jobs N] [--resume]

(also ``python -m pyvtm.utils.dataset``, where ``OUT`` may be the first
positional argument instead of ``-o``).

Storage: one ``.npz.xz`` file (an uncompressed ``.npz`` compressed with
LZMA; about 1.7 bytes per luma sample for CNNIF), read back with
:func:`load_dataset`. Reconstructions are stored as ``rec - orig`` (int16),
which compresses much better than the reconstruction itself.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import lzma
import math
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .engine import TaskFailed, add_engine_arguments, as_engine, engine_from_args, open_input

__all__ = [
    "list_images", "build_cnnif_dataset", "build_cnnmc_dataset", "load_dataset", "save_dataset",
    "stratified_qps", "proxy_modes_gradient", "build_eval_set", "load_eval_set", "encode_with_modes", "ModesUnavailable",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm")


class ModesUnavailable(RuntimeError):
    """The core cannot return the RD-chosen intra modes (``return_modes``)."""


# ---------------------------------------------------------------------------
# helpers

def list_images(roots: Iterable) -> list[Path]:
    """All image files under the given files/folders (recursive, sorted)."""
    out: list[Path] = []
    for r in roots:
        p = Path(r)
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(q for q in sorted(p.rglob("*")) if q.suffix.lower() in IMAGE_SUFFIXES)
        else:
            raise ValueError(f"no such image file or folder: {str(p)!r}")
    return out


def _load_rgb(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def stratified_qps(n: int, qps: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """n QPs covering ``qps`` evenly (each value n/len(qps) times, +-1), shuffled."""
    qps = np.asarray(list(qps), dtype=np.int64)
    if qps.size == 0:
        raise ValueError("empty QP list")
    k = -(-n // qps.size)
    reps = np.concatenate([rng.permutation(qps) for _ in range(k)])[:n]
    rng.shuffle(reps)
    return reps


def _crop_positions(h: int, w: int, size: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``count`` even-aligned crop corners (fewer if the picture is small)."""
    if h < size or w < size:
        return []
    pos = []
    for _ in range(count):
        y0 = int(rng.integers(0, (h - size) // 2 + 1)) * 2
        x0 = int(rng.integers(0, (w - size) // 2 + 1)) * 2
        pos.append((y0, x0))
    return pos


class _Progress:
    """tqdm when installed, else a plain line every few seconds."""

    def __init__(self, total: int, desc: str, enable: bool = True):
        self.total, self.desc, self.n, self.enable = total, desc, 0, enable
        self.t0 = self.last = time.time()
        self.bar = None
        if enable:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc)
            except ImportError:
                pass

    def update(self, k: int = 1, **info) -> None:
        self.n += k
        if not self.enable:
            return
        if self.bar is not None:
            self.bar.update(k)
            if info:
                self.bar.set_postfix(**info)
            return
        now = time.time()
        if now - self.last >= 5 or self.n == self.total:
            self.last = now
            extra = " ".join(f"{k}={v}" for k, v in info.items())
            el = now - self.t0
            eta = el / self.n * (self.total - self.n) if self.n else 0
            print(f"{self.desc}: {self.n}/{self.total} ({el:.0f}s, eta {eta:.0f}s) {extra}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _task_keys(kind: str, tasks: Sequence) -> list[str]:
    """Cache key of each task: its kind, fields and the content of its image."""
    import pyvtm

    from .runner import file_key

    fkeys: dict[str, str] = {}
    keys = []
    for t in tasks:
        if t.path not in fkeys:
            fkeys[t.path] = file_key(t.path)
        fields = {k: v for k, v in dataclasses.asdict(t).items() if k not in ("path", "src")}
        s = json.dumps([kind, fkeys[t.path], fields, pyvtm.__version__], sort_keys=True, default=list)
        keys.append(f"{kind}-{Path(t.path).stem}-{hashlib.sha1(s.encode()).hexdigest()[:16]}")
    return keys


def _run_tasks(kind: str, func, tasks: list, *, engine, jobs, progress: bool, cache, resume: bool):
    """Results of ``func`` over tasks, in task order (None where a task failed
    for good), and the failures as JSON records. Cached results are reused
    with ``resume``; every fresh result is written to ``cache``."""
    results: list[Any] = [None] * len(tasks)
    todo = list(range(len(tasks)))
    cdir = Path(cache) if cache is not None else None
    keys = _task_keys(kind, tasks) if cdir is not None else []
    if cdir is not None:
        cdir.mkdir(parents=True, exist_ok=True)
        if resume:
            todo = []
            for i, k in enumerate(keys):
                try:
                    with open(cdir / f"{k}.pkl", "rb") as f:
                        results[i] = pickle.load(f)
                except (OSError, EOFError, pickle.UnpicklingError):
                    todo.append(i)
    failed = []
    if not todo:
        return results, failed
    eng, owned = as_engine(engine, jobs, progress)
    try:
        sub = [dataclasses.replace(tasks[i], src=eng.stage(tasks[i].path)) for i in todo]
        for k, r in eng.map(func, sub, desc=f"{kind} ({len(sub)} tasks)"):
            i = todo[k]
            if isinstance(r, TaskFailed):
                t = tasks[i]
                rec = {"image": t.path, **{f: v for f, v in dataclasses.asdict(t).items()
                                          if f not in ("path", "src")}, "kind": r.kind,
                       "attempts": r.attempts, "message": r.message}
                failed.append(rec)
                print(f"warning: {kind} task {i} ({t.path}) {r.kind}: {r.message}", file=sys.stderr)
                continue
            results[i] = r
            if cdir is not None:
                tmp = cdir / f"{keys[i]}.pkl.tmp{os.getpid()}"
                with open(tmp, "wb") as f:
                    pickle.dump(r, f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, cdir / f"{keys[i]}.pkl")
    finally:
        if owned:
            eng.close()
    failed.sort(key=lambda r: json.dumps(r, sort_keys=True, default=list))
    return results, failed


def _check_any(kind: str, results: list, failed: list, failures: Optional[list]) -> list[int]:
    """Indices of the tasks that have a result; ``failures`` (the caller's list) gets the failed ones."""
    if failures is not None:
        failures.extend(failed)
    keep = [i for i, r in enumerate(results) if r is not None]
    if not keep:
        raise RuntimeError(f"every {kind} task failed; first: {failed[0] if failed else '?'}")
    return keep


# ---------------------------------------------------------------------------
# storage

def save_dataset(path, arrays: dict, meta: dict) -> Path:
    """Write arrays + JSON metadata as an LZMA-compressed .npz (``.npz.xz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(lzma.compress(buf.getvalue(), preset=6))
    os.replace(tmp, path)
    return path


def load_dataset(path) -> tuple[dict, dict]:
    """Read a file written by :func:`save_dataset`: ``(arrays, meta)``.

    For CNNIF sets the stored ``rec - orig`` differences are turned back
    into ``rec_y``/``rec_cb``/``rec_cr`` (uint16).
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        raw = lzma.decompress(raw)
    except lzma.LZMAError:
        pass  # plain .npz
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode()) if "__meta__" in arrays else {}
    if meta.get("store_bits") == 8 and "rec_y" in arrays:
        arrays["rec_y"] = arrays["rec_y"].astype(np.uint16) * 4
    for c in ("y", "cb", "cr"):
        d = arrays.pop(f"diff_{c}", None)
        if d is not None:
            orig = arrays[f"orig_{c}"][arrays["crop_index"]]
            arrays[f"rec_{c}"] = (orig.astype(np.int32) + d).astype(np.uint16)
    return arrays, meta


# ---------------------------------------------------------------------------
# CNNIF

@dataclass
class _IfTask:
    path: str
    y0: int
    x0: int
    size: int
    qps: tuple
    src: Any = None  # the engine's handle of the image (path or object-store reference)
    rgb: bool = False  # also return the original RGB crop (post-filter training, pyvtm.models.msgdn)


def _cnnif_task(t: _IfTask):
    import pyvtm
    from pyvtm.colour import rgb_to_ycbcr

    rgb = _load_rgb(open_input(t.src if t.src is not None else t.path))[t.y0:t.y0 + t.size, t.x0:t.x0 + t.size]
    planes = rgb_to_ycbcr(np.ascontiguousarray(rgb))
    recs, stats = [], []
    for qp in t.qps:
        res = pyvtm.encode(planes, qp=int(qp))
        recs.append(tuple(np.asarray(p, dtype=np.uint16) for p in res.recon_ycbcr))
        stats.append((res.bpp, res.psnr_y))
    if t.rgb:
        return planes, recs, stats, np.ascontiguousarray(rgb)
    return planes, recs, stats


def build_cnnif_dataset(images: Sequence, out, *, qps: Sequence[int] = tuple(range(27, 43)),
                        crop: int = 256, crops_per_image: int = 2, qps_per_crop: int = 1,
                        seed: int = 0, workers: Optional[int] = None, progress: bool = True,
                        jobs: Optional[int] = None, engine=None, cache=None, resume: bool = False,
                        failures: Optional[list] = None, store_rgb: bool = False) -> Path:
    """Build a CNNIF training set (see the module docstring).

    ``images``: image paths (use :func:`list_images`). Each gets
    ``crops_per_image`` random ``crop`` x ``crop`` crops (images smaller than
    the crop are skipped), each crop is encoded at ``qps_per_crop`` QPs.
    Arrays in the file: ``orig_y/cb/cr`` (one per crop), ``diff_y/cb/cr``
    (``rec - orig`` per sample, int16), ``crop_index``, ``qp``, ``bpp``,
    ``psnr_y`` per sample, ``crop_image``/``crop_pos`` per crop and the image
    names in the metadata. ``jobs``/``engine``/``cache``/``resume``: see the
    module docstring (``workers`` is the former name of ``jobs``); ``failures``:
    a list that gets a record per task that failed for good. ``store_rgb``:
    also keep the original RGB crop (``orig_rgb``, uint8 (N, crop, crop, 3)),
    the target of the RGB post-filter (:mod:`pyvtm.models.msgdn`).
    """
    if crop % 8:
        raise ValueError("crop must be a multiple of 8")
    rng = np.random.default_rng(seed)
    paths = [str(p) for p in images]
    tasks: list[_IfTask] = []
    crop_image = []
    for i, p in enumerate(paths):
        from PIL import Image

        with Image.open(p) as im:
            w, h = im.size
        for (y0, x0) in _crop_positions(h, w, crop, crops_per_image, rng):
            tasks.append(_IfTask(p, y0, x0, crop, (), rgb=store_rgb))
            crop_image.append(i)
    if not tasks:
        raise ValueError(f"no image is at least {crop}x{crop}")
    qlist = stratified_qps(len(tasks) * qps_per_crop, qps, rng).reshape(len(tasks), qps_per_crop)
    for t, q in zip(tasks, qlist):
        t.qps = tuple(int(v) for v in q)
    results, failed = _run_tasks("cnnif", _cnnif_task, tasks, engine=engine, jobs=jobs or workers,
                                 progress=progress, cache=cache, resume=resume)
    keep = _check_any("cnnif", results, failed, failures)
    tasks, results = [tasks[i] for i in keep], [results[i] for i in keep]
    crop_image, qlist = [crop_image[i] for i in keep], qlist[keep]

    n_crop = len(tasks)
    arrays: dict = {}
    for c, name in enumerate(("y", "cb", "cr")):
        arrays[f"orig_{name}"] = np.stack([r[0][c] for r in results]).astype(np.uint16)
        arrays[f"diff_{name}"] = np.stack([rec[c].astype(np.int32) - r[0][c].astype(np.int32)
                                           for r in results for rec in r[1]]).astype(np.int16)
    if store_rgb:
        arrays["orig_rgb"] = np.stack([r[3] for r in results]).astype(np.uint8)
    arrays["crop_index"] = np.repeat(np.arange(n_crop, dtype=np.int32), qps_per_crop)
    arrays["qp"] = qlist.reshape(-1).astype(np.uint8)
    arrays["bpp"] = np.array([s[0] for r in results for s in r[2]], dtype=np.float32)
    arrays["psnr_y"] = np.array([s[1] for r in results for s in r[2]], dtype=np.float32)
    arrays["crop_image"] = np.array(crop_image, dtype=np.int32)
    arrays["crop_pos"] = np.array([(t.y0, t.x0) for t in tasks], dtype=np.int32)
    meta = {"kind": "cnnif-dataset", "version": 1, "crop": crop, "qps": [int(q) for q in qps],
            "images": [os.path.relpath(p) if not os.path.isabs(p) else p for p in paths],
            "colour": "YCbCr 4:2:0 10-bit, BT.601 full range (pyvtm.colour)",
            "recon": "pyvtm.encode output (after deblocking)", "seed": seed}
    if failed:
        meta["failed"] = failed
    return save_dataset(out, arrays, meta)


# ---------------------------------------------------------------------------
# whole pictures (evaluation)

@dataclass
class _EvalTask:
    path: str
    qps: tuple
    src: Any = None


def _eval_task(t: _EvalTask):
    import pyvtm
    from pyvtm.colour import rgb_to_ycbcr

    planes = rgb_to_ycbcr(_load_rgb(open_input(t.src if t.src is not None else t.path)))
    out = []
    for qp in t.qps:
        res = pyvtm.encode(planes, qp=int(qp))
        out.append((tuple(np.asarray(p, dtype=np.uint16) for p in res.recon_ycbcr), res.bpp, res.psnr_y))
    return planes, out


def build_eval_set(images: Sequence, out, *, qps: Sequence[int] = (27, 32, 37, 42),
                   workers: Optional[int] = None, progress: bool = True, jobs: Optional[int] = None,
                   engine=None, cache=None, resume: bool = False,
                        failures: Optional[list] = None) -> Path:
    """Whole pictures encoded at each QP (for evaluating CNNIF), e.g. Kodak.
    Read back with :func:`load_eval_set`."""
    paths = [str(p) for p in images]
    tasks = [_EvalTask(p, tuple(int(q) for q in qps)) for p in paths]
    results, failed = _run_tasks("evalset", _eval_task, tasks, engine=engine, jobs=jobs or workers,
                                 progress=progress, cache=cache, resume=resume)
    keep = _check_any("evalset", results, failed, failures)
    paths, results = [paths[i] for i in keep], [results[i] for i in keep]
    arrays = {}
    for i, (planes, recs) in enumerate(results):
        for c, name in enumerate(("y", "cb", "cr")):
            arrays[f"p{i}_orig_{name}"] = planes[c]
            for qp, (rec, _, _) in zip(qps, recs):
                arrays[f"p{i}_q{qp}_{name}"] = (rec[c].astype(np.int32) - planes[c].astype(np.int32)).astype(np.int16)
    meta = {"kind": "eval-set", "version": 1, "qps": [int(q) for q in qps],
            "images": [Path(p).name for p in paths],
            "bpp": [[r[1] for r in recs] for _, recs in results],
            "psnr_y": [[r[2] for r in recs] for _, recs in results]}
    if failed:
        meta["failed"] = failed
    return save_dataset(out, arrays, meta)


def load_eval_set(path) -> tuple[list, dict]:
    """``[{"name", "orig": (y, cb, cr), "rec": {qp: (y, cb, cr)}}, ...], meta``."""
    arrays, meta = load_dataset(path)
    pics = []
    for i, name in enumerate(meta["images"]):
        orig = tuple(arrays[f"p{i}_orig_{c}"] for c in ("y", "cb", "cr"))
        rec = {qp: tuple((o.astype(np.int32) + arrays[f"p{i}_q{qp}_{c}"]).astype(np.uint16)
                         for o, c in zip(orig, ("y", "cb", "cr"))) for qp in meta["qps"]}
        pics.append({"name": name, "orig": orig, "rec": rec})
    return pics, meta


# ---------------------------------------------------------------------------
# CNNMC

def encode_with_modes(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, qp: int) -> dict:
    """Encode 10-bit planes with deblocking off and return the core's dict
    with ``modes`` (and ``cu_log2`` when the core provides it).

    Uses ``return_modes=True`` where the core takes it, else the plain call
    (cores that always return ``modes``). Raises :class:`ModesUnavailable`
    when the core gives no modes.
    """
    from pyvtm import _core

    h, w = y.shape
    try:
        out = _core.encode_picture(y, cb, cr, w, h, qp=int(qp), deblocking=False, return_modes=True)
    except TypeError:
        out = _core.encode_picture(y, cb, cr, w, h, qp=int(qp), deblocking=False)
    if "modes" not in out:
        raise ModesUnavailable(
            "pyvtm._core.encode_picture returned no 'modes' (the RD-chosen luma intra mode per 4x4 unit, "
            "uint8 (H/4, W/4)); it is needed for CNNMC training data (or pass proxy='gradient')")
    return out


def proxy_modes_gradient(y: np.ndarray, flat_threshold: float = 8.0) -> np.ndarray:
    """PROXY intra modes (NOT the encoder's decisions): one mode per 4x4 unit
    of the luma plane ``y`` from its dominant gradient direction.

    Sobel gradients over each 4x4 unit (+1 sample margin) give a
    magnitude-weighted structure tensor; its edge direction is mapped to the
    nearest of the 65 angular modes (2..66, mode 18 horizontal, 50 vertical,
    34 diagonal down-left); units whose mean gradient magnitude is below
    ``flat_threshold`` (10-bit units) get planar (0), weakly oriented ones DC (1).
    """
    f = y.astype(np.float64)
    p = np.pad(f, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    h, w = y.shape
    H, W = h // 4, w // 4

    def pool(a):
        return a[:H * 4, :W * 4].reshape(H, 4, W, 4).sum(axis=(1, 3))

    jxx, jyy, jxy = pool(gx * gx), pool(gy * gy), pool(gx * gy)
    mag = pool(np.hypot(gx, gy)) / 16.0 / 4.0
    # dominant gradient angle; the edge runs perpendicular to it
    theta = 0.5 * np.arctan2(2 * jxy, jxx - jyy)
    coher = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / np.maximum(jxx + jyy, 1e-9)
    edge = theta + np.pi / 2  # edge direction, image coordinates (y down)
    # Prediction direction of angular mode m (2..66): mode 18 = horizontal
    # (angle 0), 50 = vertical (pi/2), 34 = diagonal (pi/4 up-right/down-left);
    # 32 mode steps per pi/2 with VVC's non-uniform angle table approximated
    # as uniform in angle.
    a = np.mod(-edge, np.pi)  # 0..pi, counter-clockwise from horizontal
    m = np.rint(18 + a / (np.pi / 2) * 32).astype(np.int64)
    m = np.where(m > 66, m - 64, m)
    m = np.clip(m, 2, 66)
    out = np.where(mag < flat_threshold, 0, np.where(coher < 0.3, 1, m))
    return out.astype(np.uint8)


@dataclass
class _McTask:
    path: str
    y0: int
    x0: int
    size: int
    qp: int
    proxy: Optional[str]
    src: Any = None


def _cnnmc_task(t: _McTask):
    from pyvtm.colour import rgb_to_ycbcr

    rgb = _load_rgb(open_input(t.src if t.src is not None else t.path))[t.y0:t.y0 + t.size, t.x0:t.x0 + t.size]
    y, cb, cr = rgb_to_ycbcr(np.ascontiguousarray(rgb))
    if t.proxy is None:
        out = encode_with_modes(y, cb, cr, t.qp)
        modes = np.asarray(out["modes"], dtype=np.uint8)
        cu = np.asarray(out["cu_log2"], dtype=np.uint8) if "cu_log2" in out else None
        rec = np.asarray(out["y"], dtype=np.uint16)
    else:
        import pyvtm

        res = pyvtm.encode((y, cb, cr), qp=t.qp, deblocking=False)
        rec = res.recon_ycbcr[0]
        modes = proxy_modes_gradient(y)
        cu = None
    return y, rec, modes, cu


def build_cnnmc_dataset(images: Sequence, out, *, qps: Sequence[int] = tuple(range(27, 43)),
                        crop: int = 512, crops_per_image: int = 1, seed: int = 0, workers: Optional[int] = None,
                        proxy: Optional[str] = None, store_bits: int = 10, progress: bool = True,
                        jobs: Optional[int] = None, engine=None, cache=None, resume: bool = False,
                        failures: Optional[list] = None) -> Path:
    """Build a CNNMC training set (see the module docstring).

    Arrays: ``rec_y`` (N, crop, crop), the luma reconstruction before
    in-loop filtering (uint16, 10-bit; with ``store_bits=8`` uint8 holding
    ``(rec + 2) >> 2``, a quarter of the size after compression, read back
    as ``value * 4``), ``modes`` (N, crop/4, crop/4) uint8, ``cu_log2``
    (same, 255 when the core did not return it), ``qp``, ``crop_index``.
    ``crop`` must be a multiple of 128 (whole CTUs).
    """
    if crop % 128:
        raise ValueError("crop must be a multiple of 128 (the CTU size)")
    if proxy not in (None, "gradient"):
        raise ValueError(f"unknown proxy {proxy!r} (only 'gradient')")
    if proxy is None:  # fail early and clearly
        z = np.zeros((8, 8), np.uint16)
        encode_with_modes(z + 512, np.full((4, 4), 512, np.uint16), np.full((4, 4), 512, np.uint16), 37)
    rng = np.random.default_rng(seed)
    paths = [str(p) for p in images]
    tasks: list[_McTask] = []
    for p in paths:
        from PIL import Image

        with Image.open(p) as im:
            w, h = im.size
        for (y0, x0) in _crop_positions(h, w, crop, crops_per_image, rng):
            tasks.append(_McTask(p, y0, x0, crop, 0, proxy))
    if not tasks:
        raise ValueError(f"no image is at least {crop}x{crop}")
    for t, q in zip(tasks, stratified_qps(len(tasks), qps, rng)):
        t.qp = int(q)
    if store_bits not in (8, 10):
        raise ValueError("store_bits must be 8 or 10")
    results, failed = _run_tasks("cnnmc", _cnnmc_task, tasks, engine=engine, jobs=jobs or workers,
                                 progress=progress, cache=cache, resume=resume)
    keep = _check_any("cnnmc", results, failed, failures)
    tasks, results = [tasks[i] for i in keep], [results[i] for i in keep]
    rec = np.stack([r[1] for r in results]).astype(np.uint16)
    if store_bits == 8:
        rec = np.minimum((rec.astype(np.int32) + 2) >> 2, 255).astype(np.uint8)
    arrays = {
        "rec_y": rec,
        "modes": np.stack([r[2] for r in results]).astype(np.uint8),
        "cu_log2": np.stack([r[3] if r[3] is not None else np.full_like(r[2], 255) for r in results]),
        "qp": np.array([t.qp for t in tasks], dtype=np.uint8),
        "crop_index": np.arange(len(tasks), dtype=np.int32),
    }
    meta = {"kind": "cnnmc-dataset", "version": 1, "crop": crop, "qps": [int(q) for q in qps],
            "images": paths, "mode_source": "encoder" if proxy is None else f"proxy-{proxy}",
            "recon": "pyvtm encoder, luma before in-loop filtering", "store_bits": store_bits,
            "seed": seed}
    if failed:
        meta["failed"] = failed
    return save_dataset(out, arrays, meta)


def _add_arguments(p) -> None:
    p.add_argument("kind", choices=["cnnif", "cnnmc", "evalset"],
                   help="cnnif (filter pairs), cnnmc (mode maps) or evalset (whole pictures at each QP)")
    p.add_argument("paths", nargs="+", metavar="IMG_OR_DIR",
                   help="images or folders (recursive); without -o the first is the output file")
    p.add_argument("-o", "--out", help="output file (.npz.xz)")
    p.add_argument("--qp-min", type=int, default=27)
    p.add_argument("--qp-max", type=int, default=42)
    p.add_argument("--qps", help="evalset QPs, comma-separated (default 27,32,37,42)")
    p.add_argument("--crop", type=int)
    p.add_argument("--crops-per-image", type=int, default=None)
    p.add_argument("--qps-per-crop", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy", choices=["gradient"], default=None)
    p.add_argument("--store-bits", type=int, default=10, choices=[8, 10])
    p.add_argument("--rgb", action="store_true",
                   help="cnnif: also store the original RGB crops (training data of the msgdn post-filter)")
    p.add_argument("--cache", help="per-task cache folder (default OUT.cache)")
    p.add_argument("--workers", type=int, dest="workers", help=argparse.SUPPRESS)  # former name of --jobs
    add_engine_arguments(p, resume_help="reuse the finished tasks in the cache folder", jobs_help="encodes")


def add_parser(sub) -> None:
    """Register ``pyvtm dataset`` on an argparse sub-parser collection."""
    p = sub.add_parser("dataset", help="build a training/evaluation data set with pyvtm's encoder",
                       description="Encode crops (cnnif, cnnmc) or whole pictures (evalset) of the given "
                                   "images and write one .npz.xz data set.")
    _add_arguments(p)
    p.set_defaults(func=run_cli)


def run_cli(a) -> int:
    paths = list(a.paths)
    if a.out is None:
        if len(paths) < 2:
            raise ValueError("give the output file with -o OUT (or as the first of the paths)")
        out = paths.pop(0)
    else:
        out = a.out
    imgs = list_images(paths)
    qps = range(a.qp_min, a.qp_max + 1)
    cache = a.cache or str(out) + ".cache"
    jobs = a.jobs if a.jobs is not None else a.workers
    a.jobs = jobs
    failed: list = []
    with engine_from_args(a) as eng:
        kw = dict(engine=eng, cache=cache, resume=a.resume, failures=failed)
        if a.kind == "cnnif":
            path = build_cnnif_dataset(imgs, out, qps=qps, crop=a.crop or 256,
                                       crops_per_image=a.crops_per_image or 2, qps_per_crop=a.qps_per_crop,
                                       seed=a.seed, store_rgb=a.rgb, **kw)
        elif a.kind == "cnnmc":
            path = build_cnnmc_dataset(imgs, out, qps=qps, crop=a.crop or 512,
                                       crops_per_image=a.crops_per_image or 1, seed=a.seed,
                                       proxy=a.proxy, store_bits=a.store_bits, **kw)
        else:
            eq = [int(q) for q in a.qps.split(",")] if a.qps else [27, 32, 37, 42]
            path = build_eval_set(imgs, out, qps=eq, **kw)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if failed:
        print(f"{len(failed)} task(s) failed and were left out (meta['failed']); "
              f"--resume reruns only those", file=sys.stderr)
        return 1
    return 0


def _main(argv=None) -> int:  # python -m pyvtm.utils.dataset cnnif|cnnmc|evalset [OUT] IMG... [-o OUT]
    p = argparse.ArgumentParser(prog="python -m pyvtm.utils.dataset")
    _add_arguments(p)
    return run_cli(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
