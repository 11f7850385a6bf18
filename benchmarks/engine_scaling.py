"""Throughput of pyvtm's execution layer: encode tasks per second on each engine and worker count.

    python benchmarks/engine_scaling.py [--images ../shared/data/kodak] [--tasks 16] [--crop 256]
                                        [--engines local,ray] [--jobs 1,2] [--json out.json]

A task is one ``pyvtm allocate`` encode (:func:`pyvtm.utils.allocate._encode_job`: read the
picture, encode at ``--qp``, metrics) of a ``--crop`` x ``--crop`` crop of a picture of the
folder, saved as PNG. Each (engine, jobs) first runs ``jobs`` tasks untimed (workers started,
pyvtm imported), then times ``--tasks`` tasks. Ray runs on a local instance with ``jobs`` CPUs.
"busy workers" = tasks/s x mean encode seconds: the workers the engine kept encoding (ideal: the
worker count); on a machine whose cores are shared, the encodes themselves slow down instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_tasks(folder: Path, n: int, crop: int, qp: int, tmp: Path) -> list[dict]:
    import numpy as np
    from PIL import Image

    from pyvtm.utils.runner import list_images

    files = list_images(folder)
    tasks = []
    for k in range(n):
        f = files[k % len(files)]
        with Image.open(f) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w = rgb.shape[:2]
        y0 = (k * 97) % max(1, h - crop) // 2 * 2
        x0 = (k * 131) % max(1, w - crop) // 2 * 2
        p = tmp / f"t{k:03d}.png"
        Image.fromarray(np.ascontiguousarray(rgb[y0:y0 + crop, x0:x0 + crop])).save(p)
        tasks.append({"path": str(p), "name": p.name, "key": "bench", "qp": qp, "opts": {}})
    return tasks


def measure(engine: str, jobs: int, tasks: list[dict]) -> dict:
    from pyvtm.utils.allocate import _encode_job
    from pyvtm.utils.engine import TaskFailed, make_engine

    t0 = time.perf_counter()
    with make_engine(engine, jobs, progress=False) as eng:
        staged = [dict(t, path=eng.stage(t["path"])) for t in tasks]
        warm = [dict(t) for t in staged[:jobs]]
        list(eng.map(_encode_job, warm))
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        res = list(eng.map(_encode_job, staged))
        el = time.perf_counter() - t1
    bad = [r for _, r in res if isinstance(r, TaskFailed)]
    if bad:
        raise RuntimeError(f"{len(bad)} tasks failed: {bad[0]}")
    enc = sum(r["seconds"] for _, r in res)
    return {"engine": engine, "jobs": jobs, "tasks": len(tasks), "seconds": el, "tasks_per_s": len(tasks) / el,
            "mean_encode_s": enc / len(tasks), "startup_s": start}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", default=str(REPO.parent / "shared" / "data" / "kodak"))
    p.add_argument("--tasks", type=int, default=16)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--qp", type=int, default=37)
    p.add_argument("--engines", default="local,ray")
    p.add_argument("--jobs", default="1,2")
    p.add_argument("--json", help="also write the rows here")
    a = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pyvtm-scaling-") as td:
        tasks = make_tasks(Path(a.images), a.tasks, a.crop, a.qp, Path(td))
        for eng in a.engines.split(","):
            for j in (int(x) for x in a.jobs.split(",")):
                r = measure(eng, j, tasks)
                rows.append(r)
                print(json.dumps(r), flush=True)
    base = {r["engine"]: r["tasks_per_s"] for r in rows if r["jobs"] == 1}
    print(f"\n{a.tasks} encodes of {a.crop}x{a.crop} crops at QP {a.qp}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    # busy workers = tasks/s x seconds per encode: how many workers the engine kept encoding
    # (ideal: the worker count); below it is engine overhead, a slower encode is CPU contention.
    print("| engine | workers | tasks/s | speed-up | s per encode | busy workers | engine start + warm-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        sp = r["tasks_per_s"] / base[r["engine"]] if r["engine"] in base else float("nan")
        print(f"| {r['engine']} | {r['jobs']} | {r['tasks_per_s']:.3f} | {sp:.2f}x | {r['mean_encode_s']:.2f} | "
              f"{r['tasks_per_s'] * r['mean_encode_s']:.2f} | {r['startup_s']:.1f} s |")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
