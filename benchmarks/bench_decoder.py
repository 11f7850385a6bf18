#!/usr/bin/env python3
"""Decoder speed: pyvtm's decoder vs FFmpeg's vvc decoder (-threads 1).

Encodes a few Kodak images at QPs 22/32/42 with pyvtm, then times decoding
the same streams with

* pyvtm: ``pyvtm._core.decode_bitstream`` (in-process, C++), best of N runs;
* FFmpeg: ``ffmpeg -threads 1 -c:v vvc ... -f rawvideo`` (from
  imageio-ffmpeg), best of N runs. One FFmpeg process has a start-up time
  that is much longer than a picture's decode, so FFmpeg decodes the stream
  repeated K times (K IDR pictures, ``--repeat``) and once; its time per
  picture is (t(K) - t(1)) / (K - 1), start-up and the first picture's
  one-off costs excluded. The total time of the single-picture process is
  shown as well.

Prints milliseconds per megapixel (luma samples of the decoded picture).

    python benchmarks/bench_decoder.py [--images 1 5 23] [--qps 22 32 42] [--runs 3] [--repeat 10]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def kodak_dir() -> Path:
    env = os.environ.get("PYVTM_DATA")
    if env:
        p = Path(env)
        return p / "kodak" if (p / "kodak").is_dir() else p
    return REPO.parent / "shared" / "data" / "kodak"


def load_rgb(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def time_ffmpeg(exe: str, bitstream: bytes, runs: int, repeat: int = 1) -> float:
    """Best wall time of one FFmpeg process decoding `repeat` copies of the stream."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.266")
        Path(src).write_bytes(bitstream * repeat)
        cmd = [exe, "-hide_banner", "-nostdin", "-v", "error", "-y", "-threads", "1", "-f", "vvc", "-c:v", "vvc",
               "-i", src, "-frames:v", str(repeat), "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
               os.path.join(tmp, "o.yuv")]
        best = float("inf")
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t0)
        return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, nargs="+", default=[1, 5, 23])
    ap.add_argument("--qps", type=int, nargs="+", default=[22, 32, 42])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=10, help="pictures per FFmpeg process for the per-picture time")
    args = ap.parse_args()
    if args.repeat < 2:
        ap.error("--repeat must be at least 2")

    import pyvtm
    from pyvtm import _core
    from pyvtm.ffmpeg import ffmpeg_exe

    exe = ffmpeg_exe()
    print(f"FFmpeg: {exe}, -threads 1; per picture = (t({args.repeat} copies) - t(1)) / {args.repeat - 1}")
    print(f"{'image':8} {'qp':>3} {'size':>9} {'bytes':>7} {'pyvtm ms/MP':>12} {'ffmpeg ms/MP':>13} "
          f"{'ffmpeg 1-pic process':>21} {'ratio':>6}")
    tot_p = tot_f = tot_f1 = tot_mp = 0.0
    for n in args.images:
        img = load_rgb(kodak_dir() / f"kodim{n:02d}.png")
        for qp in args.qps:
            bs = pyvtm.encode(img, qp=qp).bitstream
            best = float("inf")
            for _ in range(args.runs):
                t0 = time.perf_counter()
                out = _core.decode_bitstream(bs)
                best = min(best, time.perf_counter() - t0)
            mp = out["width"] * out["height"] / 1e6
            f1 = time_ffmpeg(exe, bs, args.runs)
            fk = time_ffmpeg(exe, bs, args.runs, args.repeat)
            ff = max(fk - f1, 1e-6) / (args.repeat - 1)
            tot_p += best; tot_f += ff; tot_f1 += f1; tot_mp += mp
            print(f"kodim{n:02d}  {qp:3d} {out['width']:4d}x{out['height']:<4d} {len(bs):7d} {best / mp * 1e3:12.1f} "
                  f"{ff / mp * 1e3:13.1f} {f1 / mp * 1e3:21.1f} {best / ff:6.2f}")
    print(f"{'all':8} {'':>3} {'':>9} {'':>7} {tot_p / tot_mp * 1e3:12.1f} {tot_f / tot_mp * 1e3:13.1f} "
          f"{tot_f1 / tot_mp * 1e3:21.1f} {tot_p / tot_f:6.2f}")
    print("ratio = pyvtm time / FFmpeg time per picture; < 1 means pyvtm is faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
