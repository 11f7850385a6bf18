#!/usr/bin/env python3
"""The CNN tools inside the codec: BD-rates against pyvtm with both tools off.

For each tool combination (off, cnnif, cnnmc, cnnif+cnnmc) it encodes the
pictures at QP 27..42 through ``pyvtm.encode`` (bpp from whole bitstreams,
the CNNIF SEI and CNNMC SPS extension included), decodes them with
``pyvtm.decode`` (checking that the decoder reproduces the encoder's
picture) and prints per combination: BD-rate on PSNR-Y and PSNR-RGB against
"off", the PSNR gain at 0.15 bpp (PCHIP interpolation in log-rate, over the
pictures whose points bracket 0.15 bpp), and encode / decode seconds per
megapixel. The CNN cost in kMAC per pixel comes from benchmarks/bench_cnn.py.

    python benchmarks/bench_cnn_codec.py --images 4
    python benchmarks/bench_cnn_codec.py --cnnif-model cnnif --images 24
    python benchmarks/bench_cnn_codec.py --images 3 --no-cnnmc --compare-cnnif cnnif_s   # integer vs float

Default models: the integer ones (cnnif_s_int, cnnmc_int; pyvtm.models.intnet).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import pyvtm
from pyvtm.metrics import bd_rate, pchip_interpolate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PYVTM_DATA", ROOT.parent / "shared" / "data")) / "kodak"


def psnr_at(bpps, psnrs, target):
    x = np.log10(np.asarray(bpps))
    order = np.argsort(x)
    x, y = x[order], np.asarray(psnrs)[order]
    t = np.log10(target)
    if not (x[0] <= t <= x[-1]):
        return None
    return float(pchip_interpolate(x, y, np.array([t]))[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--qps", default="27,32,37,42")
    ap.add_argument("--cnnif-model", default="cnnif_s_int")
    ap.add_argument("--cnnmc-model", default="cnnmc_int")
    ap.add_argument("--compare-cnnif", nargs="*", default=[],
                    help="more CNNIF models to run alone (e.g. cnnif_s: the float model vs the integer default)")
    ap.add_argument("--no-cnnmc", action="store_true", help="only off and the CNNIF model(s)")
    ap.add_argument("--no-cnnif", action="store_true", help="only off and CNNMC")
    ap.add_argument("--crop", help="WxH centre crop of each picture (quick runs)")
    args = ap.parse_args(argv)
    qps = [int(q) for q in args.qps.split(",")]
    images = sorted(args.data.glob("*.png"))[: args.images]
    models = {"cnnif": args.cnnif_model, "cnnmc": args.cnnmc_model}
    combos = {"off": ({}, models), "cnnif": ({"cnnif": True}, models)}
    if not args.no_cnnmc:
        combos.update({"cnnmc": ({"cnnmc": True}, models), "cnnif+cnnmc": ({"cnnif": True, "cnnmc": True}, models)})
    if args.no_cnnif:
        combos = {k: v for k, v in combos.items() if "cnnif" not in k}
    for name in args.compare_cnnif:
        combos[f"cnnif[{name}]"] = ({"cnnif": True}, {"cnnif": name, "cnnmc": args.cnnmc_model})
    pts = {c: {} for c in combos}  # combo -> image -> [(bpp, psnr_y, psnr_rgb, enc s/MP, dec s/MP)]
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        if args.crop:
            cw, ch = (int(v) for v in args.crop.split("x"))
            y0, x0 = (rgb.shape[0] - ch) // 2, (rgb.shape[1] - cw) // 2
            rgb = np.ascontiguousarray(rgb[y0:y0 + ch, x0:x0 + cw])
        mp = rgb.shape[0] * rgb.shape[1] / 1e6
        for name, (flags, mods) in combos.items():
            for qp in qps:
                t0 = time.perf_counter()
                res = pyvtm.encode(rgb, qp, models=mods, **flags)
                enc = time.perf_counter() - t0
                t0 = time.perf_counter()
                ycbcr = pyvtm.decode(res.bitstream, ycbcr=True)
                dec = time.perf_counter() - t0
                if not all(np.array_equal(a, b) for a, b in zip(ycbcr, res.recon_ycbcr)):
                    sys.exit(f"decoder mismatch: {path.name} {name} qp {qp}")
                pts[name].setdefault(path.name, []).append((res.bpp, res.psnr_y, res.psnr_rgb, enc / mp, dec / mp))
        print(f"{path.name}: done", file=sys.stderr, flush=True)

    print(f"\n{len(images)} images from {args.data}, QP {qps}, models {models}")
    print(f"{'tools':<20}{'BD-rate Y':>11}{'BD-rate RGB':>13}{'dPSNR-Y@0.15':>14}{'dPSNR-RGB@0.15':>16}"
          f"{'enc s/MP':>10}{'dec s/MP':>10}")
    for name in combos:
        bdy, bdr, gy, gr = [], [], [], []
        for img, p in pts[name].items():
            a, b = np.array(pts["off"][img]), np.array(p)
            bdy.append(bd_rate(a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
            bdr.append(bd_rate(a[:, 0], a[:, 2], b[:, 0], b[:, 2]))
            for col, acc in ((1, gy), (2, gr)):
                pa, pb = psnr_at(a[:, 0], a[:, col], 0.15), psnr_at(b[:, 0], b[:, col], 0.15)
                if pa is not None and pb is not None:
                    acc.append(pb - pa)
        allp = np.array([q for p in pts[name].values() for q in p])
        fmt = lambda v: f"{np.mean(v):+.3f} ({len(v)})" if v else "n/a"
        print(f"{name:<20}{np.mean(bdy):>+10.2f}%{np.mean(bdr):>+12.2f}%{fmt(gy):>14}{fmt(gr):>16}"
              f"{allp[:, 3].mean():>10.2f}{allp[:, 4].mean():>10.2f}")


if __name__ == "__main__":
    main()
