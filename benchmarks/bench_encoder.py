#!/usr/bin/env python3
"""Encoder benchmark: pyvtm against VVenC on the same input pictures.

For every QP and codec it prints the mean over the images of bpp (from whole
bitstream files), PSNR-Y (10-bit, peak 1023), PSNR-RGB (8-bit, peak 255) and
encode seconds per megapixel (one thread), then the BD-rates of pyvtm against
VVenC (PSNR-Y and PSNR-RGB, averaged over images).

VVenC is libvvenc inside the ffmpeg of imageio-ffmpeg, fed the very YCbCr
planes pyvtm encodes, with one thread, perceptual QP adaptation off and its
default intra QP handling (the BD-rate compares whole curves, so a QP offset
only moves points along them).

    python benchmarks/bench_encoder.py                       # 24 Kodak images, QP 22..42
    python benchmarks/bench_encoder.py --images 4 --vvenc-preset faster
    python benchmarks/bench_encoder.py --no-vvenc --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import pyvtm
from pyvtm.colour import rgb_to_ycbcr, ycbcr_to_rgb
from pyvtm.ffmpeg import ffmpeg_exe
from pyvtm.metrics import bd_rate, psnr

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PYVTM_DATA", ROOT.parent / "shared" / "data")) / "kodak"


def encode_vvenc(planes, w, h, qp, preset, tmp: Path):
    raw = tmp / "in.yuv"
    with open(raw, "wb") as f:
        for p in planes:
            f.write(np.ascontiguousarray(p, dtype="<u2").tobytes())
    out = tmp / "out.266"
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
           "-s", f"{w}x{h}", "-i", str(raw), "-frames:v", "1", "-c:v", "libvvenc", "-preset", preset,
           "-qp", str(qp), "-qpa", "0", "-threads", "1", "-vvenc-params", "threads=1", "-f", "vvc", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t0
    data = out.read_bytes()
    dec = tmp / "dec.yuv"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-threads", "1", "-i", str(out),
                    "-f", "rawvideo", "-pix_fmt", "yuv420p10le", str(dec)], check=True)
    buf = np.fromfile(dec, dtype="<u2")
    ew, eh = (w + 1) // 2 * 2, (h + 1) // 2 * 2
    y = buf[: ew * eh].reshape(eh, ew)
    cw, ch = ew // 2, eh // 2
    cb = buf[ew * eh: ew * eh + cw * ch].reshape(ch, cw)
    cr = buf[ew * eh + cw * ch: ew * eh + 2 * cw * ch].reshape(ch, cw)
    return data, (y, cb, cr), seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of PNG images (default: Kodak)")
    ap.add_argument("--images", type=int, default=24, help="use the first N images")
    ap.add_argument("--qps", type=str, default="22,27,32,37,42")
    ap.add_argument("--vvenc-preset", default="medium")
    ap.add_argument("--no-vvenc", action="store_true")
    ap.add_argument("--json", type=Path, help="write all per-image points here")
    args = ap.parse_args(argv)

    images = sorted(args.data.glob("*.png"))[: args.images]
    if not images:
        sys.exit(f"no PNG images in {args.data}")
    qps = [int(q) for q in args.qps.split(",")]
    codecs = ["pyvtm"] + ([] if args.no_vvenc else [f"vvenc-{args.vvenc_preset}"])
    points = {c: {} for c in codecs}  # codec -> image -> list of (qp, bpp, psnr_y, psnr_rgb, sec/MP)

    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for path in images:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            h, w = rgb.shape[:2]
            planes = rgb_to_ycbcr(rgb)
            mp = w * h / 1e6
            for qp in qps:
                r = pyvtm.encode(rgb, qp)
                points["pyvtm"].setdefault(path.name, []).append(
                    (qp, r.bpp, r.psnr_y, r.psnr_rgb, r.seconds / mp))
                if not args.no_vvenc:
                    data, dec, sec = encode_vvenc(planes, w, h, qp, args.vvenc_preset, tmp)
                    py = psnr(planes[0], dec[0][:h, :w], 1023)
                    prgb = psnr(rgb, ycbcr_to_rgb(*dec)[:h, :w], 255)
                    points[codecs[1]].setdefault(path.name, []).append(
                        (qp, len(data) * 8 / (w * h), py, prgb, sec / mp))
            print(f"{path.name}: done", file=sys.stderr, flush=True)

    print(f"\n{len(images)} images from {args.data}")
    print(f"{'codec':<16}{'QP':>4}{'bpp':>9}{'PSNR-Y':>9}{'PSNR-RGB':>10}{'s/MP':>9}")
    for c in codecs:
        for i, qp in enumerate(qps):
            rows = np.array([v[i][1:] for v in points[c].values()])
            m = rows.mean(axis=0)
            print(f"{c:<16}{qp:>4}{m[0]:>9.4f}{m[1]:>9.3f}{m[2]:>10.3f}{m[3]:>9.2f}")
    if not args.no_vvenc:
        for metric, col in (("PSNR-Y", 2), ("PSNR-RGB", 3)):
            bds = []
            for name in points["pyvtm"]:
                a = np.array(points[codecs[1]][name])
                b = np.array(points["pyvtm"][name])
                bds.append(bd_rate(a[:, 1], a[:, col], b[:, 1], b[:, col]))
            print(f"BD-rate pyvtm vs {codecs[1]} ({metric}): {np.mean(bds):+.2f}%  (per-image mean)")
        sp = np.mean([np.mean([p[4] for p in v]) for v in points["pyvtm"].values()])
        sv = np.mean([np.mean([p[4] for p in v]) for v in points[codecs[1]].values()])
        print(f"encode time: pyvtm {sp:.2f} s/MP, {codecs[1]} {sv:.2f} s/MP (x{sv / sp:.2f})")
    if args.json:
        args.json.write_text(json.dumps(points, indent=1))


if __name__ == "__main__":
    main()
