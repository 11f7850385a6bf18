"""MSGDN post-filter: size, cost, time and peak memory of tiled filtering.

  python benchmarks/bench_msgdn.py [--presets msgdn_s,msgdn] [--sizes 1024x768,2048x1536,4000x3000]
                                   [--tile 512] [--overlap 32] [--threads 1]

For every preset: parameters and kMAC per pixel (closed form), then, per
picture size, a fresh subprocess filters a random picture with
:func:`pyvtm.models.msgdn.apply_postfilter` (random weights: same cost as
trained ones) and reports wall time and the process's peak resident memory
(``ru_maxrss``) minus its resident memory before the call (torch and the
model loaded), i.e. what the filtering itself adds. ``MALLOC_*`` variables
of the environment reach the child: with glibc's default dynamic mmap
threshold, freed tile buffers stay in the heap and fragment it, so the peak
grows with the number of tiles; ``MALLOC_MMAP_THRESHOLD_=131072`` keeps it
at about one tile's working set (docs/msgdn.md).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[5]))
from pyvtm.models.msgdn import MSGDNFilter, apply_postfilter
w, h, tile, overlap = (int(v) for v in sys.argv[1:5])
m = MSGDNFilter(sys.argv[6]).eval()
torch.nn.init.normal_(m.net.tail.weight, std=0.01)
img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
base = rss_kb()
t = time.perf_counter()
out = apply_postfilter(m, img, 40, tile=tile, overlap=overlap)
sec = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": sec, "base_mb": base / 1024, "peak_mb": peak / 1024, "added_mb": (peak - base) / 1024}))
"""


def main(argv=None) -> int:
    from pyvtm.models.msgdn import PRESETS, msgdn_cost

    p = argparse.ArgumentParser()
    p.add_argument("--presets", default="msgdn_s,msgdn")
    p.add_argument("--sizes", default="")
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    for name in a.presets.split(","):
        cfg = dict(PRESETS[name], qp_input=True)
        c = msgdn_cost(cfg)
        print(f"{name}: {c['parameters']:,} parameters, {c['kmac_per_pixel']:.1f} kMAC/pixel")
        for s in filter(None, a.sizes.split(",")):
            w, h = (int(v) for v in s.split("x"))
            import os

            env = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}  # glibc malloc tuning
            env.update({"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(a.threads), "PATH": "/usr/bin:/bin"})
            r = subprocess.run([sys.executable, "-c", _CHILD, str(w), str(h), str(a.tile), str(a.overlap),
                                str(a.threads), name], capture_output=True, text=True, cwd=ROOT, env=env)
            if r.returncode:
                print(r.stderr[-2000:])
                continue
            res = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"  {w}x{h} ({w * h / 1e6:.1f} Mpx) tile {a.tile} overlap {a.overlap}: {res['seconds']:.1f} s "
                  f"({res['seconds'] / (w * h / 1e6):.1f} s/Mpx), peak RSS {res['peak_mb']:.0f} MB "
                  f"(+{res['added_mb']:.0f} MB over {res['base_mb']:.0f} MB before filtering)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
