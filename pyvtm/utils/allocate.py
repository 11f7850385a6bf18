"""Rate allocation over a set of images to a total bpp budget (``pyvtm allocate``).

Problem: choose one slice QP per image so that the total size of all
bitstreams (whole files, ``8 * bytes``) is at most ``target_bpp x total
pixels`` and the mean quality (PSNR-RGB by default; PSNR-Y or the 6:1:1
YCbCr PSNR on request) is as high as possible. That is a multiple-choice
knapsack problem (MCKP): one item per image, one choice per QP.

Both methods first find the **best uniform QP**, the smallest QP whose total
fits (bisection over QP guided by a log-linear fit of total bits; every
image is encoded at that QP and at QP-1, which does not fit). It is the
baseline both methods are compared with, and a feasible allocation, so
neither method ever returns a lower mean quality.

``selection`` (operational, exact over what it encodes):
  coarse grid, then refinement. Every image gets the uniform QP +- ``step``
  (3); the MCKP is solved exactly over all encoded points; an image whose
  chosen QP is the lowest/highest it has encoded is extended by ``step``
  (coarse); once no choice is at an edge, the neighbours QP +- 1 of every
  chosen QP are encoded (refine) and the problem is solved again, until every
  chosen QP has both neighbours encoded and is not an edge. The result is
  the exact optimum over the encoded candidates; for R-D curves that are
  convex in QP it is the optimum over the whole QP range, at roughly a third
  of the encodes of a full grid.

``unra`` (model-based):
  per image, the log-linear models ``R(QP) = a * exp(-b * QP)`` (bits) and
  ``PSNR(QP) = c - d * QP``, fitted by weighted least squares to the points
  already encoded (the uniform search, plus one pilot encode 4 QPs away when
  the points span fewer than 4 QPs), weights ``1 / (1 + |QP - QP_op|)``
  around the image's current operating QP. Together they are the hyperbolic
  R-D model ``MSE(R) = C * R^-k`` (PSNR linear in ln R, slope ``d / b`` dB per
  nat), whose continuous optimum gives each image bits in proportion to
  ``d_i / b_i``; the integer allocation is the exact MCKP over all QPs of the
  range using the model predictions. Verification: the chosen QPs are
  encoded for real; the measured points replace the model's, the models are
  refitted around the new operating points, and the allocation is solved
  again; images whose real size deviated from the model get a new QP and are
  re-encoded. This repeats until every chosen QP is a measured one (at most
  ``max_rounds``; after that the MCKP over measured points only), so the
  budget always holds with real sizes.

MCKP solver (:func:`solve_mckp`): exact dynamic programming over the budget
at byte granularity (sizes are whole bytes) when images x budget bytes is at
most ``dp_limit`` (1e8), else a Lagrangian search over lambda with a final
greedy fill of the leftover budget (near-optimal, flagged in the report).

Encodes run on ``jobs`` processes and are cached on disk, one JSON + one
``.266`` per (image content, QP, encoder options, pyvtm version) under
``OUTDIR/cache``; ``resume=True`` reuses the cached encodes of an interrupted
or earlier run (also across methods).
"""
from __future__ import annotations

import csv
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .engine import Engine, TaskFailed, add_engine_arguments, as_engine, engine_from_args, open_input, raise_first
from .runner import file_key, list_images, options_key, options_label, write_json_atomic

__all__ = ["allocate", "solve_mckp", "solve_mckp_dp", "solve_mckp_lagrangian", "AllocationResult",
           "METRICS", "METHODS"]

METRICS = ("rgb", "y", "ycbcr")
METHODS = ("selection", "unra")
_METRIC_FIELD = {"rgb": "psnr_rgb", "y": "psnr_y", "ycbcr": "psnr_ycbcr"}
_PSNR_CAP = 100.0  # lossless (inf) PSNR counts as this in the optimisation


# ---------------------------------------------------------------------------
# Multiple-choice knapsack


def solve_mckp_dp(costs: Sequence[Sequence[int]], values: Sequence[Sequence[float]],
                  budget: int) -> Optional[list[int]]:
    """Exact MCKP by dynamic programming: one choice per item, sum of costs <= budget.

    ``costs[i][k]`` (non-negative ints) and ``values[i][k]`` are item i's
    choices. Returns the chosen index per item maximising the sum of values,
    or None when even the cheapest choices exceed the budget. O(items x
    choices x budget) time, items x budget bytes of memory.
    """
    budget = int(budget)
    n = len(costs)
    if budget < 0 or sum(min(c) for c in costs) > budget:
        return None
    neg = -np.inf
    f = np.zeros(budget + 1)  # best value using items so far with at most b cost
    back = np.empty((n, budget + 1), dtype=np.int16)
    for i in range(n):
        g = np.full(budget + 1, neg)
        arg = np.full(budget + 1, -1, dtype=np.int16)
        for k, (c, v) in enumerate(zip(costs[i], values[i])):
            c = int(c)
            if c < 0:
                raise ValueError("costs must be non-negative")
            if c > budget:
                continue
            cand = np.full(budget + 1, neg)
            cand[c:] = f[:budget + 1 - c] + float(v)
            better = cand > g
            g[better] = cand[better]
            arg[better] = k
        f = g
        back[i] = arg
    if not np.isfinite(f[budget]):
        return None
    choice = [0] * n
    b = budget
    for i in range(n - 1, -1, -1):
        k = int(back[i, b])
        choice[i] = k
        b -= int(costs[i][k])
    return choice


def solve_mckp_lagrangian(costs, values, budget: int) -> Optional[list[int]]:
    """MCKP by Lagrangian relaxation, then a greedy fill of the leftover budget.

    For a multiplier lambda every item takes ``argmax_k v - lambda * c``;
    bisection finds the smallest lambda whose allocation fits. The leftover
    budget is then spent greedily on the upgrade with the best value per
    extra cost that still fits, repeatedly. Near-optimal (exact on the convex
    hull points); used when the DP table would be too large.
    """
    cs = [np.asarray(c, dtype=np.float64) for c in costs]
    vs = [np.asarray(v, dtype=np.float64) for v in values]
    if sum(c.min() for c in cs) > budget:
        return None

    def pick(lam: float) -> list[int]:
        out = []
        for c, v in zip(cs, vs):
            s = v - lam * c
            best = np.flatnonzero(s == s.max())
            out.append(int(best[np.argmin(c[best])]))  # ties: the cheaper choice
        return out

    def total(ch):
        return sum(c[k] for c, k in zip(cs, ch))

    lo, hi = 0.0, 1.0
    while total(pick(hi)) > budget:
        hi *= 2.0
        if hi > 1e30:
            # lambda -> inf picks the cheapest (max value among cheapest) choice: feasible.
            break
    if total(pick(lo)) <= budget:
        hi = lo
    for _ in range(200):
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
        mid = 0.5 * (lo + hi)
        if total(pick(mid)) <= budget:
            hi = mid
        else:
            lo = mid
    choice = pick(hi) if hi < 1e30 else [int(np.argmin(c)) for c in cs]
    left = budget - total(choice)
    while True:
        best = None
        for i, (c, v) in enumerate(zip(cs, vs)):
            k0 = choice[i]
            for k in range(len(c)):
                dv = v[k] - v[k0]
                dc = c[k] - c[k0]
                if dv <= 0 or dc > left:
                    continue
                score = math.inf if dc <= 0 else dv / dc
                if best is None or score > best[0]:
                    best = (score, i, k, dc)
        if best is None:
            break
        _, i, k, dc = best
        choice[i] = k
        left -= dc
    return choice


def solve_mckp(costs, values, budget: int, dp_limit: float = 1e8) -> tuple[Optional[list[int]], str]:
    """Exact DP when ``items x budget <= dp_limit``, else Lagrangian + greedy fill.

    Returns ``(choice, solver_name)``.
    """
    if len(costs) * (int(budget) + 1) <= dp_limit:
        return solve_mckp_dp(costs, values, budget), "dp"
    return solve_mckp_lagrangian(costs, values, budget), "lagrangian+greedy"


# ---------------------------------------------------------------------------
# Encoding with an on-disk cache


def _encode_job(task: dict) -> dict:
    """Worker: encode one (image, QP); its record and the bitstream (``"bitstream"``)."""
    import pyvtm
    from PIL import Image

    from ..colour import rgb_to_ycbcr
    from ..metrics import psnr, psnr_ycbcr

    with Image.open(open_input(task["path"])) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    res = pyvtm.encode(rgb, int(task["qp"]), **task["opts"])
    h, w = rgb.shape[:2]
    planes = rgb_to_ycbcr(rgb)
    rec = tuple(np.asarray(p) for p in res.recon_ycbcr)
    rec = (rec[0][:h, :w], rec[1][:planes[1].shape[0], :planes[1].shape[1]],
           rec[2][:planes[2].shape[0], :planes[2].shape[1]])
    record = {
        "image": task["name"], "key": task["key"], "qp": int(task["qp"]), "options": task["opts"],
        "version": pyvtm.__version__, "width": w, "height": h,
        "bytes": len(res.bitstream), "bits": res.bits, "bpp": res.bpp,
        "psnr_y": float(res.psnr_y), "psnr_rgb": float(res.psnr_rgb),
        "psnr_ycbcr": psnr_ycbcr(planes, rec, 1023.0),
        "psnr_cb": psnr(planes[1], rec[1], 1023.0), "psnr_cr": psnr(planes[2], rec[2], 1023.0),
        "seconds": res.seconds,
    }
    if res.postfilter is not None:
        # the metrics of the post-filtered picture (RGB); the YCbCr ones from its conversion
        fplanes = rgb_to_ycbcr(res.recon_rgb)
        record.update({"psnr_y": psnr(planes[0], fplanes[0], 1023.0), "psnr_ycbcr": psnr_ycbcr(planes, fplanes, 1023.0),
                       "psnr_cb": psnr(planes[1], fplanes[1], 1023.0), "psnr_cr": psnr(planes[2], fplanes[2], 1023.0),
                       "psnr_rgb_unfiltered": float(res.psnr_rgb_unfiltered), "postfilter": res.postfilter["model_id"],
                       "postfilter_seconds": res.postfilter["seconds"]})
    return {**record, "bitstream": bytes(res.bitstream)}


def _write_cache_entry(stem: Path, record: dict, bitstream: bytes) -> None:
    """Driver side: ``stem.266`` then ``stem.json`` (written last: marks the entry complete)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp = stem.with_name(stem.name + f".266.tmp{os.getpid()}")
    tmp.write_bytes(bitstream)
    os.replace(tmp, stem.with_suffix(".266"))
    write_json_atomic(stem.with_suffix(".json"), record)


@dataclass
class _Image:
    index: int
    path: Path
    name: str
    key: str
    width: int = 0
    height: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height


class _Encoder:
    """Points (image, QP) -> record, from memory, the disk cache or fresh encodes."""

    def __init__(self, images: list[_Image], opts: dict, cache_dir: Path, runner: Engine,
                 resume: bool, qp_range: tuple[int, int]):
        import pyvtm

        self.images = images
        self.opts = opts
        self.okey = options_key(opts)
        self.version = pyvtm.__version__
        self.cache_dir = cache_dir
        self.runner = runner
        self.resume = resume
        self.qlo, self.qhi = qp_range
        self.points: dict[tuple[int, int], dict] = {}
        self.encoded = 0   # fresh encodes in this run
        self.cached = 0    # points read from the disk cache
        self.requested: dict[str, int] = {}  # phase -> distinct points it added

    def _stem(self, im: _Image, qp: int) -> Path:
        return self.cache_dir / f"{Path(im.name).stem}-{im.key}" / f"qp{qp:02d}-{self.okey}"

    def _load(self, im: _Image, qp: int) -> Optional[dict]:
        stem = self._stem(im, qp)
        js, bs = stem.with_suffix(".json"), stem.with_suffix(".266")
        if not (js.is_file() and bs.is_file()):
            return None
        import json

        try:
            rec = json.loads(js.read_text())
        except (OSError, ValueError):
            return None
        if (rec.get("version") != self.version or rec.get("qp") != qp or rec.get("key") != im.key
                or rec.get("options") != self.opts or bs.stat().st_size != rec.get("bytes")):
            return None
        return rec

    def has(self, i: int, qp: int) -> bool:
        return (i, qp) in self.points

    def get(self, i: int, qp: int) -> dict:
        return self.points[(i, qp)]

    def qps(self, i: int) -> list[int]:
        return sorted(q for (j, q) in self.points if j == i)

    def ensure(self, pairs, phase: str) -> None:
        todo = []
        seen = set()
        for i, qp in pairs:
            qp = int(qp)
            if not self.qlo <= qp <= self.qhi or (i, qp) in self.points or (i, qp) in seen:
                continue
            seen.add((i, qp))
            im = self.images[i]
            rec = self._load(im, qp) if self.resume else None
            if rec is not None:
                self.points[(i, qp)] = rec
                self.cached += 1
            else:
                todo.append((i, qp))
        self.requested[phase] = self.requested.get(phase, 0) + len(seen)
        if not todo:
            return
        tasks = [{"path": self.runner.stage(self.images[i].path), "name": self.images[i].name,
                  "key": self.images[i].key, "qp": qp, "opts": self.opts} for i, qp in todo]
        failed = []
        for k, rec in self.runner.map(_encode_job, tasks, desc=f"{phase} ({len(tasks)} encodes)"):
            if isinstance(rec, TaskFailed):
                failed.append(rec)
                continue
            i, qp = todo[k]
            bits = rec.pop("bitstream")
            _write_cache_entry(self._stem(self.images[i], qp), rec, bits)
            self.points[(i, qp)] = rec
            self.encoded += 1
        # Every finished encode is in the cache: a rerun with resume redoes only the failed ones.
        raise_first(failed, tasks, hint="The other encodes are cached: rerun with --resume.")

    def bitstream_path(self, i: int, qp: int) -> Path:
        return self._stem(self.images[i], qp).with_suffix(".266")


# ---------------------------------------------------------------------------
# Allocation


@dataclass
class AllocationResult:
    method: str
    metric: str
    target_bpp: float
    budget_bits: int
    total_pixels: int
    qps: list[int]
    images: list[dict]
    uniform: dict
    total_bits: int
    solver: str
    encodes: dict
    options: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    @property
    def total_bpp(self) -> float:
        return self.total_bits / self.total_pixels

    def mean(self, key: str) -> float:
        return float(np.mean([r[key] for r in self.images]))


def _value(rec: dict, metric: str) -> float:
    v = float(rec[_METRIC_FIELD[metric]])
    return min(v, _PSNR_CAP)


def _fit_line(x, y, w) -> tuple[float, float]:
    """Weighted least squares y = p0 + p1 * x."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    a = np.stack([np.ones_like(x), x], axis=1) * np.sqrt(w)[:, None]
    p, *_ = np.linalg.lstsq(a, y * np.sqrt(w), rcond=None)
    return float(p[0]), float(p[1])


def _uniform_search(enc: _Encoder, budget_bytes: int, q0: int, slope: float = 0.14) -> int:
    """Smallest QP whose total fits (every image encoded there and at QP-1)."""
    n = len(enc.images)
    totals: dict[int, int] = {}

    def total(q: int) -> int:
        if q not in totals:
            enc.ensure([(i, q) for i in range(n)], "uniform QP search")
            totals[q] = sum(enc.get(i, q)["bytes"] for i in range(n))
        return totals[q]

    def estimate() -> float:
        qs = sorted(totals)
        lb = math.log(budget_bytes) if budget_bytes > 0 else -1e9
        if len(qs) == 1:
            q = qs[0]
            return q + (math.log(totals[q]) - lb) / slope
        # Secant through the two evaluated QPs closest to the crossing.
        qs.sort(key=lambda q: abs(math.log(totals[q]) - lb))
        qa, qb = sorted(qs[:2])
        s = (math.log(totals[qa]) - math.log(totals[qb])) / (qb - qa)
        if not s > 1e-3:
            s = slope
        return qa + (math.log(totals[qa]) - lb) / s

    total(q0)
    for _ in range(64):
        fit = [q for q, t in totals.items() if t <= budget_bytes]
        over = [q for q, t in totals.items() if t > budget_bytes]
        if fit:
            qf = min(fit)
            if qf == enc.qlo or (qf - 1) in over:
                return qf
        if not fit:
            qm = max(over)
            if qm >= enc.qhi:
                raise ValueError(
                    f"the budget ({budget_bytes * 8} bits) is too small: even QP {enc.qhi} for every "
                    f"image takes {totals[qm] * 8} bits; raise --target-bpp or the top of --qps")
            nxt = min(enc.qhi, max(qm + 1, math.ceil(estimate())))
        elif not over:
            nxt = max(enc.qlo, min(qf - 1, math.ceil(estimate())))
        else:
            below = [q for q in over if q < qf]
            if below:
                nxt = min(qf - 1, max(max(below) + 1, math.ceil(estimate())))
            else:
                nxt = max(enc.qlo, min(qf - 1, math.ceil(estimate())))
        total(nxt)
    raise RuntimeError("uniform QP search did not converge")  # pragma: no cover


def _solve_points(enc: _Encoder, cands: list[list[int]], budget_bytes: int, metric: str,
                  overrides: Optional[list[dict]] = None) -> tuple[Optional[list[int]], str]:
    """MCKP over per-image candidate QPs; costs/values measured or from ``overrides[i][qp]``."""
    costs, values = [], []
    for i, qs in enumerate(cands):
        c, v = [], []
        for q in qs:
            if enc.has(i, q):
                rec = enc.get(i, q)
                c.append(int(rec["bytes"]))
                v.append(_value(rec, metric))
            else:
                b, p = overrides[i][q]
                c.append(int(b))
                v.append(float(p))
        costs.append(c)
        values.append(v)
    choice, solver = solve_mckp(costs, values, budget_bytes)
    if choice is None:
        return None, solver
    return [qs[k] for qs, k in zip(cands, choice)], solver


def _selection(enc: _Encoder, qu: int, budget_bytes: int, metric: str, step: int, max_iter: int = 60):
    n = len(enc.images)
    enc.ensure([(i, q) for i in range(n) for q in (qu - step, qu + step)], "coarse grid")
    solver = "dp"
    for _ in range(max_iter):
        cands = [enc.qps(i) for i in range(n)]
        qps, solver = _solve_points(enc, cands, budget_bytes, metric)
        assert qps is not None  # the uniform QP is always feasible
        new = []
        for i, q in enumerate(qps):
            have = cands[i]
            if q == have[0] and q > enc.qlo:
                new.append((i, max(enc.qlo, q - step)))
            if q == have[-1] and q < enc.qhi:
                new.append((i, min(enc.qhi, q + step)))
        if new:
            enc.ensure(new, "coarse grid")
            continue
        new = [(i, q + d) for i, q in enumerate(qps) for d in (-1, 1)
               if enc.qlo <= q + d <= enc.qhi and not enc.has(i, q + d)]
        if new:
            enc.ensure(new, "refine")
            continue
        return qps, solver
    cands = [enc.qps(i) for i in range(n)]
    return _solve_points(enc, cands, budget_bytes, metric)


def _unra_models(enc: _Encoder, i: int, q_op: float, metric: str):
    qs = enc.qps(i)
    recs = [enc.get(i, q) for q in qs]
    w = [1.0 / (1.0 + abs(q - q_op)) for q in qs]
    la, mb = _fit_line(qs, [math.log(r["bytes"]) for r in recs], w)       # ln R = ln a - b QP
    c, md = _fit_line(qs, [_value(r, metric) for r in recs], w)          # PSNR = c - d QP
    b, d = -mb, -md
    if not b > 0.01:  # degenerate fit (flat or inverted): fall back to a typical slope
        b = 0.14
    if not d > 0.01:
        d = 0.4
    return {"a": math.exp(la), "b": b, "c": c, "d": d}


def _unra(enc: _Encoder, qu: int, budget_bytes: int, metric: str, max_rounds: int = 8):
    n = len(enc.images)
    # Pilot: points spanning >= 4 QPs around the uniform operating point.
    pilot = []
    for i in range(n):
        qs = enc.qps(i)
        if max(qs) < qu + 3:
            pilot.append((i, qu + 4))
        if min(qs) > qu - 3 and max(qs) - min(qs) < 4:
            pilot.append((i, qu - 4))
    enc.ensure(pilot, "unra pilot")
    q_op = [float(qu)] * n
    all_q = list(range(enc.qlo, enc.qhi + 1))
    models = []
    rounds = 0
    solver = "dp"
    for rounds in range(1, max_rounds + 1):
        models = [_unra_models(enc, i, q_op[i], metric) for i in range(n)]
        preds = []
        for m in models:
            preds.append({q: (max(1, math.ceil(m["a"] * math.exp(-m["b"] * q))), m["c"] - m["d"] * q)
                          for q in all_q})
        qps, solver = _solve_points(enc, [all_q] * n, budget_bytes, metric, preds)
        if qps is None:
            break
        missing = [(i, q) for i, q in enumerate(qps) if not enc.has(i, q)]
        if not missing:
            return qps, solver, models, rounds
        enc.ensure(missing, f"unra verify round {rounds}")
        q_op = [float(q) for q in qps]
    # Fallback: measured points only (always feasible: the uniform QP fits).
    qps, solver = _solve_points(enc, [enc.qps(i) for i in range(n)], budget_bytes, metric)
    return qps, solver, models, rounds


def _qp_range(qps) -> tuple[int, int]:
    if isinstance(qps, str):
        s = qps.replace(":", "-").strip()
        if "-" in s:
            a, b = s.split("-", 1)
            lo, hi = int(a), int(b)
        else:
            lo = hi = int(s)
    else:
        lo, hi = int(qps[0]), int(qps[1])
    if not (0 <= lo <= hi <= 63):
        raise ValueError(f"QP range must be lo-hi within 0..63, got {qps!r}")
    return lo, hi


def _row(im: _Image, rec: dict) -> dict:
    return {"image": im.name, "width": im.width, "height": im.height, "qp": rec["qp"], "bytes": rec["bytes"],
            "bits": rec["bits"], "bpp": rec["bits"] / im.pixels, "psnr_y": rec["psnr_y"],
            "psnr_rgb": rec["psnr_rgb"], "psnr_ycbcr": rec["psnr_ycbcr"]}


def allocate(folder, target_bpp: float = 0.15, *, metric: str = "rgb", method: str = "selection",
             qps="22-51", jobs: Optional[int] = None, out=None, resume: bool = False,
             options: Optional[dict] = None, step: int = 3, cache_dir=None, progress: bool = True,
             write: bool = True, engine=None) -> AllocationResult:
    """Choose one QP per image of ``folder`` so that all bitstreams fit ``target_bpp``.

    Args:
        folder: directory of images (PNG, JPEG, ...; all files, sorted by name).
        target_bpp: budget in bits per pixel over all images together (whole
            bitstream files: ``sum(8 * bytes) <= floor(target_bpp * pixels)``).
        metric: ``"rgb"`` (PSNR-RGB, default), ``"y"`` (10-bit PSNR-Y) or
            ``"ycbcr"`` ((6 Y + Cb + Cr) / 8 PSNR); the mean over images is
            maximised.
        method: ``"selection"`` (coarse-to-fine operational search + exact
            MCKP) or ``"unra"`` (model-based allocation, verified).
        qps: allowed QPs, ``"lo-hi"`` or ``(lo, hi)`` (default 22-51).
        jobs: parallel encodes (default: the engine's).
        engine: ``"local"`` (default), ``"ray"`` or an
            :class:`pyvtm.utils.engine.Engine` (used as it is, not closed).
            An encode that still fails after the engine's retries stops the
            allocation once the other encodes of its batch are done (they are
            cached; rerun with ``resume=True``); an exception of the encoder
            (e.g. TypeError for an unknown option) is raised as it is.
        out: output folder (default ``pyvtm-allocate``): bitstreams in
            ``OUT/<method>/``, reports ``OUT/allocation-<method>.json/.csv``.
        resume: reuse cached encodes (``OUT/cache`` or ``cache_dir``).
        options: keyword options for :func:`pyvtm.encode` (part of the cache key).
        step: coarse QP step of the selection method.
        write: write bitstreams and reports (False: only return the result).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (target_bpp > 0 and math.isfinite(target_bpp)):
        raise ValueError(f"target bpp must be positive, got {target_bpp}")
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    qlo, qhi = _qp_range(qps)
    opts = dict(options or {})
    out = Path(out) if out is not None else Path("pyvtm-allocate")
    cache = Path(cache_dir) if cache_dir is not None else out / "cache"

    from PIL import Image

    images = []
    for k, p in enumerate(list_images(folder)):
        im = _Image(k, p, p.name, file_key(p))
        with Image.open(p) as pil:
            im.width, im.height = pil.size
        images.append(im)
    names = [Path(im.name).stem for im in images]
    if len(set(names)) != len(names):
        raise ValueError("image file names must be unique without their extension")
    total_pixels = sum(im.pixels for im in images)
    budget_bits = math.floor(target_bpp * total_pixels)
    budget_bytes = budget_bits // 8

    runner, owned = as_engine(engine, jobs, progress)
    try:
        enc = _Encoder(images, opts, cache, runner, resume, (qlo, qhi))
        q0 = min(qhi, max(qlo, 37))
        qu = _uniform_search(enc, budget_bytes, q0)
        extra: dict[str, Any] = {}
        if method == "selection":
            qsel, solver = _selection(enc, qu, budget_bytes, metric, step)
        else:
            qsel, solver, models, rounds = _unra(enc, qu, budget_bytes, metric)
            extra["unra_rounds"] = rounds
            extra["models"] = [{"image": im.name, **m} for im, m in zip(images, models)]
            extra["model"] = "R(QP) = a*exp(-b*QP) bytes, PSNR(QP) = c - d*QP  (i.e. MSE(R) = C*R^-k)"
    finally:
        if owned:
            runner.close()
    assert qsel is not None
    rows = [_row(im, enc.get(im.index, q)) for im, q in zip(images, qsel)]
    urows = [_row(im, enc.get(im.index, qu)) for im in images]
    total_bits = sum(r["bits"] for r in rows)
    if total_bits > budget_bits:  # cannot happen: the solver works on real sizes
        raise RuntimeError(f"allocation exceeds the budget: {total_bits} > {budget_bits} bits")
    ubits = sum(r["bits"] for r in urows)
    uniform = {"qp": qu, "total_bits": ubits, "total_bpp": ubits / total_pixels,
               "mean_psnr_y": float(np.mean([r["psnr_y"] for r in urows])),
               "mean_psnr_rgb": float(np.mean([r["psnr_rgb"] for r in urows])),
               "mean_psnr_ycbcr": float(np.mean([r["psnr_ycbcr"] for r in urows])),
               "images": urows}
    encodes = {"fresh": enc.encoded, "cached": enc.cached, "points": len(enc.points),
               "per_image": len(enc.points) / len(images), "by_phase": dict(enc.requested)}
    res = AllocationResult(method=method, metric=metric, target_bpp=target_bpp, budget_bits=budget_bits,
                           total_pixels=total_pixels, qps=list(qsel), images=rows, uniform=uniform,
                           total_bits=total_bits, solver=solver, encodes=encodes, options=opts)
    fld = _METRIC_FIELD[metric]
    res.report = {
        "method": method, "metric": metric, "metric_field": fld, "target_bpp": target_bpp,
        "budget_bits": budget_bits, "total_pixels": total_pixels, "images_count": len(images),
        "qp_range": [qlo, qhi], "options": opts, "solver": solver,
        "total_bits": total_bits, "total_bpp": res.total_bpp, "budget_left_bits": budget_bits - total_bits,
        "mean_psnr_y": res.mean("psnr_y"), "mean_psnr_rgb": res.mean("psnr_rgb"),
        "mean_psnr_ycbcr": res.mean("psnr_ycbcr"),
        "gain_over_uniform_db": res.mean(fld) - uniform[f"mean_{fld}"],
        "uniform": uniform, "images": rows, "encodes": encodes, **extra,
    }
    if write:
        _write_outputs(res, enc, out)
    return res


def _write_outputs(res: AllocationResult, enc: _Encoder, out: Path) -> None:
    bdir = out / res.method
    if bdir.exists():
        for p in bdir.glob("*.266"):
            p.unlink()
    bdir.mkdir(parents=True, exist_ok=True)
    for im, q in zip(enc.images, res.qps):
        shutil.copyfile(enc.bitstream_path(im.index, q), bdir / (Path(im.name).stem + ".266"))
    write_json_atomic(out / f"allocation-{res.method}.json", res.report)
    cols = ["image", "width", "height", "qp", "bits", "bpp", "psnr_y", "psnr_rgb", "psnr_ycbcr",
            "uniform_qp", "uniform_bits", "uniform_psnr_y", "uniform_psnr_rgb"]
    with open(out / f"allocation-{res.method}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r, u in zip(res.images, res.uniform["images"]):
            w.writerow([r["image"], r["width"], r["height"], r["qp"], r["bits"], f"{r['bpp']:.5f}",
                        f"{r['psnr_y']:.4f}", f"{r['psnr_rgb']:.4f}", f"{r['psnr_ycbcr']:.4f}",
                        u["qp"], u["bits"], f"{u['psnr_y']:.4f}", f"{u['psnr_rgb']:.4f}"])
        rep = res.report
        u = res.uniform
        w.writerow(["TOTAL", "", "", "", res.total_bits, f"{res.total_bpp:.5f}", f"{rep['mean_psnr_y']:.4f}",
                    f"{rep['mean_psnr_rgb']:.4f}", f"{rep['mean_psnr_ycbcr']:.4f}", u["qp"], u["total_bits"],
                    f"{u['mean_psnr_y']:.4f}", f"{u['mean_psnr_rgb']:.4f}"])
        w.writerow(["BUDGET", "", "", "", res.budget_bits, f"{res.target_bpp:.5f}", "", "", "", "", "", "", ""])


def summary_text(res: AllocationResult) -> str:
    rep = res.report
    fld = rep["metric_field"]
    u = res.uniform
    lines = [
        f"method {res.method}  metric {fld}  solver {res.solver}  options "
        f"{options_label(res.options) or '(default)'}",
        f"budget {res.budget_bits} bits = {res.target_bpp} bpp x {res.total_pixels} pixels "
        f"({len(res.images)} images)",
        f"allocation: total {res.total_bits} bits = {res.total_bpp:.5f} bpp  "
        f"mean PSNR-RGB {rep['mean_psnr_rgb']:.3f} dB  PSNR-Y {rep['mean_psnr_y']:.3f} dB  "
        f"PSNR-YCbCr {rep['mean_psnr_ycbcr']:.3f} dB",
        f"best uniform QP {u['qp']}: total {u['total_bits']} bits = {u['total_bpp']:.5f} bpp  "
        f"mean PSNR-RGB {u['mean_psnr_rgb']:.3f} dB  PSNR-Y {u['mean_psnr_y']:.3f} dB",
        f"gain over uniform ({fld}): {rep['gain_over_uniform_db']:+.3f} dB",
        f"QPs: " + " ".join(f"{Path(r['image']).stem}:{r['qp']}" for r in res.images),
        f"encodes: {res.encodes['fresh']} new, {res.encodes['cached']} from cache, "
        f"{res.encodes['points']} points ({res.encodes['per_image']:.1f} per image)",
    ]
    return "\n".join(lines)


def add_parser(sub) -> None:
    """Register ``pyvtm allocate`` on an argparse sub-parser collection."""
    a = sub.add_parser("allocate", help="choose a QP per image to meet a total bpp budget",
                       description="Choose one QP per image of DIR so that the total size of all "
                                   "bitstreams is at most TARGET_BPP x total pixels, maximising mean PSNR.")
    a.add_argument("dir", help="folder of images")
    a.add_argument("--target-bpp", type=float, required=True, help="total budget in bits per pixel")
    a.add_argument("--metric", choices=METRICS, default="rgb", help="PSNR to maximise (default rgb)")
    a.add_argument("--method", choices=METHODS, default="selection",
                   help="selection (operational search + exact knapsack) or unra (model-based); "
                        "default selection")
    a.add_argument("--qps", default="22-51", help="allowed QP range lo-hi (default 22-51)")
    a.add_argument("-o", "--out", default="pyvtm-allocate", help="output folder (default ./pyvtm-allocate)")
    add_engine_arguments(a, resume_help="reuse cached encodes in OUT/cache (or --cache)", jobs_help="encodes")
    a.add_argument("--cache", help="cache folder (default OUT/cache)")
    a.add_argument("--step", type=int, default=3, help="coarse QP step of the selection method (default 3)")
    a.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="encoder option passed to pyvtm.encode (repeatable), e.g. --opt rdoq=0")
    a.add_argument("--postfilter", metavar="NAME",
                   help="post-filter signalled in the streams (msgdn, msgdn_gan, ...): the PSNR-RGB optimised and "
                        "reported is the post-filtered picture's, the rate includes the SEI")
    a.set_defaults(func=run_cli)


def run_cli(args) -> int:
    from .runner import parse_options

    opts = parse_options(args.opt)
    if args.postfilter:
        opts["postfilter"] = args.postfilter
    with engine_from_args(args) as eng:
        res = allocate(args.dir, args.target_bpp, metric=args.metric, method=args.method, qps=args.qps,
                       out=args.out, resume=args.resume, options=opts,
                       step=args.step, cache_dir=args.cache, engine=eng)
    print(summary_text(res))
    out = Path(args.out)
    print(f"-> {out / res.method}/*.266, {out / f'allocation-{res.method}.json'}, "
          f"{out / f'allocation-{res.method}.csv'}")
    return 0
