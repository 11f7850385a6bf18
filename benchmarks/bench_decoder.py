#!/usr/bin/env python3
"""Decoder speed: pyvtm's decoder vs FFmpeg's vvc decoder (-threads 1).

Encodes a few Kodak images at QPs 22/32/42 with pyvtm, then times decoding
the same streams with

* pyvtm: ``pyvtm._core.decode_bitstream`` (in-process, C++), best of N runs;
* FFmpeg: ``ffmpeg -threads 1 -c:v vvc ... -f rawvideo`` (from
  imageio-ffmpeg), best of N runs. FFmpeg's time includes process start-up
  and writing the raw output, so it is also reported after subtracting the
  start-up time measured on a tiny stream.

Prints milliseconds per megapixel (luma samples of the decoded picture).

    python benchmarks/bench_decoder.py [--images 1 5 23] [--qps 22 32 42] [--runs 3]
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


def time_ffmpeg(exe: str, bitstream: bytes, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.266")
        Path(src).write_bytes(bitstream)
        cmd = [exe, "-hide_banner", "-nostdin", "-v", "error", "-y", "-threads", "1", "-f", "vvc", "-c:v", "vvc",
               "-i", src, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", os.path.join(tmp, "o.yuv")]
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
    args = ap.parse_args()

    import pyvtm
    from pyvtm import _core
    from pyvtm.ffmpeg import ffmpeg_exe

    exe = ffmpeg_exe()
    tiny = pyvtm.encode(np.zeros((8, 8, 3), np.uint8), qp=32).bitstream
    startup = time_ffmpeg(exe, tiny, max(3, args.runs))
    print(f"ffmpeg start-up (8x8 stream): {startup * 1e3:.1f} ms   [{exe}]")
    print(f"{'image':8} {'qp':>3} {'size':>9} {'bytes':>7} {'pyvtm ms/MP':>12} {'ffmpeg ms/MP':>13} "
          f"{'ffmpeg-startup':>15} {'ratio':>6}")
    tot_p = tot_f = tot_fs = tot_mp = 0.0
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
            ff = time_ffmpeg(exe, bs, args.runs)
            ffs = max(ff - startup, 1e-6)
            tot_p += best; tot_f += ff; tot_fs += ffs; tot_mp += mp
            print(f"kodim{n:02d}  {qp:3d} {out['width']:4d}x{out['height']:<4d} {len(bs):7d} {best / mp * 1e3:12.1f} "
                  f"{ff / mp * 1e3:13.1f} {ffs / mp * 1e3:15.1f} {best / ffs:6.2f}")
    print(f"{'all':8} {'':>3} {'':>9} {'':>7} {tot_p / tot_mp * 1e3:12.1f} {tot_f / tot_mp * 1e3:13.1f} "
          f"{tot_fs / tot_mp * 1e3:15.1f} {tot_p / tot_fs:6.2f}")
    print("ratio = pyvtm time / (ffmpeg time - start-up); < 1 means pyvtm is faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
