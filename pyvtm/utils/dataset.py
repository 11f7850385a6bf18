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

Storage: one ``.npz.xz`` file (an uncompressed ``.npz`` compressed with
LZMA; about 1.7 bytes per luma sample for CNNIF), read back with
:func:`load_dataset`. Reconstructions are stored as ``rec - orig`` (int16),
which compresses much better than the reconstruction itself.
"""
from __future__ import annotations

import io
import json
import lzma
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

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


def _map(func, tasks, workers: int, progress: _Progress):
    """Ordered map over tasks with a process pool (fork) or in-process."""
    results = []
    if workers <= 1:
        for t in tasks:
            results.append(func(t))
            progress.update()
        return results
    import multiprocessing as mp

    ctx = mp.get_context("fork") if sys.platform != "win32" else mp.get_context()
    with ctx.Pool(workers) as pool:
        for r in pool.imap(func, tasks, chunksize=1):
            results.append(r)
            progress.update()
    return results


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


def _cnnif_task(t: _IfTask):
    import pyvtm
    from pyvtm.colour import rgb_to_ycbcr

    rgb = _load_rgb(t.path)[t.y0:t.y0 + t.size, t.x0:t.x0 + t.size]
    planes = rgb_to_ycbcr(np.ascontiguousarray(rgb))
    recs, stats = [], []
    for qp in t.qps:
        res = pyvtm.encode(planes, qp=int(qp))
        recs.append(tuple(np.asarray(p, dtype=np.uint16) for p in res.recon_ycbcr))
        stats.append((res.bpp, res.psnr_y))
    return planes, recs, stats


def build_cnnif_dataset(images: Sequence, out, *, qps: Sequence[int] = tuple(range(27, 43)),
                        crop: int = 256, crops_per_image: int = 2, qps_per_crop: int = 1,
                        seed: int = 0, workers: int = 2, progress: bool = True) -> Path:
    """Build a CNNIF training set (see the module docstring).

    ``images``: image paths (use :func:`list_images`). Each gets
    ``crops_per_image`` random ``crop`` x ``crop`` crops (images smaller than
    the crop are skipped), each crop is encoded at ``qps_per_crop`` QPs.
    Arrays in the file: ``orig_y/cb/cr`` (one per crop), ``diff_y/cb/cr``
    (``rec - orig`` per sample, int16), ``crop_index``, ``qp``, ``bpp``,
    ``psnr_y`` per sample, ``crop_image``/``crop_pos`` per crop and the image
    names in the metadata.
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
            tasks.append(_IfTask(p, y0, x0, crop, ()))
            crop_image.append(i)
    if not tasks:
        raise ValueError(f"no image is at least {crop}x{crop}")
    qlist = stratified_qps(len(tasks) * qps_per_crop, qps, rng).reshape(len(tasks), qps_per_crop)
    for t, q in zip(tasks, qlist):
        t.qps = tuple(int(v) for v in q)
    bar = _Progress(len(tasks), "cnnif dataset", progress)
    results = _map(_cnnif_task, tasks, workers, bar)
    bar.close()

    n_crop = len(tasks)
    arrays: dict = {}
    for c, name in enumerate(("y", "cb", "cr")):
        arrays[f"orig_{name}"] = np.stack([r[0][c] for r in results]).astype(np.uint16)
        arrays[f"diff_{name}"] = np.stack([rec[c].astype(np.int32) - r[0][c].astype(np.int32)
                                           for r in results for rec in r[1]]).astype(np.int16)
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
    return save_dataset(out, arrays, meta)


# ---------------------------------------------------------------------------
# whole pictures (evaluation)

def _eval_task(t):
    import pyvtm
    from pyvtm.colour import rgb_to_ycbcr

    path, qps = t
    planes = rgb_to_ycbcr(_load_rgb(path))
    out = []
    for qp in qps:
        res = pyvtm.encode(planes, qp=int(qp))
        out.append((tuple(np.asarray(p, dtype=np.uint16) for p in res.recon_ycbcr), res.bpp, res.psnr_y))
    return planes, out


def build_eval_set(images: Sequence, out, *, qps: Sequence[int] = (27, 32, 37, 42), workers: int = 2,
                   progress: bool = True) -> Path:
    """Whole pictures encoded at each QP (for evaluating CNNIF), e.g. Kodak.
    Read back with :func:`load_eval_set`."""
    paths = [str(p) for p in images]
    bar = _Progress(len(paths), "eval set", progress)
    results = _map(_eval_task, [(p, tuple(qps)) for p in paths], workers, bar)
    bar.close()
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


def _cnnmc_task(t: _McTask):
    from pyvtm.colour import rgb_to_ycbcr

    rgb = _load_rgb(t.path)[t.y0:t.y0 + t.size, t.x0:t.x0 + t.size]
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
                        crop: int = 512, crops_per_image: int = 1, seed: int = 0, workers: int = 2,
                        proxy: Optional[str] = None, store_bits: int = 10, progress: bool = True) -> Path:
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
    bar = _Progress(len(tasks), "cnnmc dataset", progress)
    results = _map(_cnnmc_task, tasks, workers, bar)
    bar.close()
    if store_bits not in (8, 10):
        raise ValueError("store_bits must be 8 or 10")
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
    return save_dataset(out, arrays, meta)


def _main(argv=None) -> int:  # python -m pyvtm.utils.dataset cnnif|cnnmc OUT IMG...
    import argparse

    p = argparse.ArgumentParser(prog="python -m pyvtm.utils.dataset")
    p.add_argument("kind", choices=["cnnif", "cnnmc"])
    p.add_argument("out")
    p.add_argument("images", nargs="+")
    p.add_argument("--qp-min", type=int, default=27)
    p.add_argument("--qp-max", type=int, default=42)
    p.add_argument("--crop", type=int)
    p.add_argument("--crops-per-image", type=int, default=None)
    p.add_argument("--qps-per-crop", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=max(1, min(os.cpu_count() or 1, 8)))
    p.add_argument("--proxy", choices=["gradient"], default=None)
    p.add_argument("--store-bits", type=int, default=10, choices=[8, 10])
    a = p.parse_args(argv)
    imgs = list_images(a.images)
    qps = range(a.qp_min, a.qp_max + 1)
    if a.kind == "cnnif":
        path = build_cnnif_dataset(imgs, a.out, qps=qps, crop=a.crop or 256,
                                   crops_per_image=a.crops_per_image or 2, qps_per_crop=a.qps_per_crop,
                                   seed=a.seed, workers=a.workers)
    else:
        path = build_cnnmc_dataset(imgs, a.out, qps=qps, crop=a.crop or 512,
                                   crops_per_image=a.crops_per_image or 1, seed=a.seed,
                                   workers=a.workers, proxy=a.proxy, store_bits=a.store_bits)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
