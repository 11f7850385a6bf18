#!/usr/bin/env python3
"""pyvtm against the VTM 23.13 all-intra anchors, with VVenC medium as the in-run speed reference.

Prints (a) the BD-rates of pyvtm against VTM (PSNR-Y, PSNR-YUV, PSNR-RGB;
per picture and their mean), next to VVenC medium encoded in the same run and
the VVenC medium/faster anchor points, with encode seconds per picture and
the ratio pyvtm seconds / VVenC-medium seconds; with ``--tools`` (b) the same
for pyvtm with each default tool (mtt, dual_tree, cclm, rdoq, deblocking, sao, alf, ccalf,
sign_hiding, mts, lfnst, joint_cbcr, and chroma_qp_table: the identity instead
of VVenC's table) switched off and each opt-in tool (lmcs) switched on, one at
a time.

Everything follows ``shared/anchors/README.md``: the 8-bit 4:2:0 source from
the float full-range BT.601 matrix with 2x2 box-averaged chroma, PSNR-Y/U/V on
the 10-bit planes against source << 2 (peak 1020), PSNR-RGB after centred
bilinear chroma up-sampling and the inverse matrix (peak 255), bpp from whole
bitstreams, BD-rate per picture by PCHIP over the overlapping PSNR range of
the QP 22/27/32/37 points, then the mean over pictures (pyvtm.metrics,
SciPy). pyvtm gets the 8-bit planes as a (Y, Cb, Cr) tuple; its returned
reconstruction is measured (``--verify-decode`` also decodes the bitstream
with FFmpeg's vvc decoder and requires it to match), and bpp is taken from the
bitstream bytes.

VVenC is libvvenc in the imageio-ffmpeg FFmpeg, one thread, on the 10-bit
planes: ``-c:v libvvenc -preset medium -qp QP -qpa 0 -vvenc-params
IntraQPOffset=0 -threads 1 -g 1``. ``-g 1`` (GOP size 1, intra period 1, the
all-intra configuration) is not in the README's command line, but without it
libvvenc codes the picture as the first of a random-access GOP (about 100
bytes more of reference picture lists in the SPS, other decisions, about 3x the
time) and does not reproduce the anchors; with it, it reproduces them bit for
bit (bits, PSNR-Y and PSNR-RGB exact). Every run compares its VVenC points
with ``vvenc_medium.json`` and prints the largest differences.

    python benchmarks/bench_vtm.py                          # 4 anchor pictures, QP 22..37
    python benchmarks/bench_vtm.py --tools --json out.json
    python benchmarks/bench_vtm.py --images kodim23 --qps 22,27,32,37 --preset fast --no-vvenc
    python benchmarks/bench_vtm.py --check                  # self-checks of the measurement only

Data: ``--data`` or $PYVTM_DATA (the folder holding ``kodak/`` or the Kodak
folder itself), default ``<repo>/../shared/data/kodak``; anchors: ``--anchors``
or $PYVTM_ANCHORS, default ``<repo>/../shared/anchors``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = ("kodim01", "kodim05", "kodim15", "kodim23")
DEFAULT_QPS = (22, 27, 32, 37)
TOOLS = ("mtt", "dual_tree", "cclm", "mip", "mrl", "isp", "rdoq", "deblocking", "deblock_aware", "sao", "alf", "ccalf",
         "dep_quant", "sign_hiding", "mts", "lfnst", "joint_cbcr", "chroma_qp_table")
# Tools that are off by default: measured switched on, one at a time.
# (dep_quant and isp are on by default at medium and slow, off at fast;
# chroma_qp_table is VVenC's table at medium, "off" is the identity.)
OPT_IN_TOOLS = ("lmcs",)
METRICS = (("psnr_y", "PSNR-Y"), ("psnr_yuv", "PSNR-YUV"), ("psnr_rgb", "PSNR-RGB"))
ANCHOR_FILES = {"VTM": "vtm_23.13_ai.json", "VVenC-medium": "vvenc_medium.json",
                "VVenC-faster": "vvenc_faster.json"}
#: BD-rates against VTM stated in shared/anchors/README.md (PSNR-Y, PSNR-RGB), checked by --check.
README_BD = {"VVenC-medium": (4.2, 1.6), "VVenC-faster": (18.8, 16.6)}


# ---------------------------------------------------------------------------
# locations, lazy imports


def default_data() -> Path:
    env = os.environ.get("PYVTM_DATA")
    if env:
        p = Path(env)
        return p / "kodak" if (p / "kodak").is_dir() else p
    return ROOT.parent / "shared" / "data" / "kodak"


def default_anchors() -> Path:
    env = os.environ.get("PYVTM_ANCHORS")
    return Path(env) if env else ROOT.parent / "shared" / "anchors"


def load_metrics():
    """pyvtm.metrics: the installed package, else this checkout's file (no extension needed)."""
    try:
        from pyvtm import metrics
        return metrics
    except ImportError:
        spec = importlib.util.spec_from_file_location("_pyvtm_metrics", ROOT / "pyvtm" / "metrics.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod


M = load_metrics()


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def default_encoder() -> Callable:
    try:
        import pyvtm
    except ImportError:
        sys.path.insert(0, str(ROOT))      # not installed: this checkout (extension built in place)
    try:
        import pyvtm

        return pyvtm.encode
    except ImportError as e:
        raise SystemExit(f"cannot import pyvtm ({e}): install it (pip install .) or build the extension; "
                         "--check runs the measurement self-checks without it") from e


class Progress:
    """tqdm when installed, else one line per step on stderr."""

    def __init__(self, total: int, quiet: bool = False):
        self.n, self.total, self.quiet, self.bar = 0, total, quiet, None
        if not quiet:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="enc", file=sys.stderr)
            except ImportError:
                pass

    def step(self, what: str) -> None:
        self.n += 1
        if self.bar is not None:
            self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(1)
        elif not self.quiet:
            print(f"[{self.n}/{self.total}] {what}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------
# pictures and anchors


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def load_anchors(folder: Path) -> dict:
    out = {}
    for name, fn in ANCHOR_FILES.items():
        p = folder / fn
        if not p.is_file():
            raise SystemExit(f"anchor file {p} not found (set --anchors or $PYVTM_ANCHORS)")
        out[name] = json.loads(p.read_text())
    return out


def anchor_point(points: list, image: str, qp: int) -> Optional[dict]:
    for p in points:
        if p["image"] == image and int(p["qp"]) == qp:
            return p
    return None


# ---------------------------------------------------------------------------
# encoders


def write_yuv10(path: Path, planes) -> None:
    """8-bit planes << 2 as planar little-endian 16-bit (yuv420p10le)."""
    with open(path, "wb") as f:
        for p in planes:
            f.write((np.asarray(p, dtype="<u2") << 2).tobytes())


def read_yuv10(path: Path, w: int, h: int):
    buf = np.fromfile(path, dtype="<u2")
    cw, ch = (w + 1) // 2, (h + 1) // 2
    need = w * h + 2 * cw * ch
    if buf.size != need:
        raise RuntimeError(f"{path}: {buf.size} samples, expected {need} for {w}x{h} 4:2:0")
    y = buf[:w * h].reshape(h, w)
    cb = buf[w * h:w * h + cw * ch].reshape(ch, cw)
    cr = buf[w * h + cw * ch:].reshape(ch, cw)
    return y, cb, cr


def decode_vvc_file(path: Path, w: int, h: int, tmp: Path):
    """Decode with FFmpeg's native vvc decoder, one thread, to 10-bit planes."""
    out = tmp / "dec.yuv"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-threads", "1",
                    "-f", "vvc", "-c:v", "vvc", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                    "-pix_fmt", "yuv420p10le", str(out)], check=True, stdin=subprocess.DEVNULL)
    return read_yuv10(out, w, h)


def vvenc_command(src_yuv: Path, out: Path, w: int, h: int, qp: int, preset: str = "medium") -> list:
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{w}x{h}", "-i", str(src_yuv), "-frames:v", "1",
            "-c:v", "libvvenc", "-preset", preset, "-qp", str(qp), "-qpa", "0",
            "-vvenc-params", "IntraQPOffset=0", "-threads", "1", "-g", "1", "-f", "vvc", str(out)]


def encode_vvenc(rgb: np.ndarray, src, qp: int, tmp: Path, preset: str = "medium") -> dict:
    """One VVenC point: encode (timed), decode, anchor metrics."""
    h, w = src[0].shape
    if w & 1 or h & 1:
        raise ValueError("the VVenC runner needs even picture sizes")
    yuv, out = tmp / "src.yuv", tmp / "vvenc.266"
    write_yuv10(yuv, src)
    cmd = vvenc_command(yuv, out, w, h, qp, preset)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"VVenC failed ({' '.join(cmd)}):\n{proc.stderr.decode(errors='replace')}")
    dec = decode_vvc_file(out, w, h, tmp)
    pt = M.anchor_metrics(rgb, src, dec, out.stat().st_size)
    pt["enc_s"] = seconds
    return pt


def encode_pyvtm(encode_fn: Callable, rgb: np.ndarray, src, qp: int, options: dict, tmp: Path,
                 verify_decode: bool = False) -> dict:
    """One pyvtm point: encode the 8-bit (Y, Cb, Cr) planes (timed), measure the returned recon."""
    h, w = src[0].shape
    t0 = time.perf_counter()
    res = encode_fn(tuple(src), qp, **options)
    seconds = time.perf_counter() - t0
    bitstream = bytes(res.bitstream)
    nbytes = len(bitstream)
    if nbytes == 0:
        raise RuntimeError(f"pyvtm returned an empty bitstream at QP {qp}")
    bpp = 8.0 * nbytes / (w * h)
    if int(res.bits) != 8 * nbytes or not math.isclose(float(res.bpp), bpp, rel_tol=1e-12):
        raise AssertionError(f"EncodeResult says bits={res.bits} bpp={res.bpp}, but the bitstream has "
                             f"{nbytes} bytes ({8 * nbytes} bits, {bpp} bpp)")
    dec = tuple(np.asarray(p) for p in res.recon_ycbcr)
    if verify_decode:
        path = tmp / "pyvtm.266"
        path.write_bytes(bitstream)
        dh, dw = dec[0].shape
        ff = decode_vvc_file(path, dw, dh, tmp)
        for name, a, b in zip(("Y", "Cb", "Cr"), ff, dec):
            if a.shape != b.shape or not np.array_equal(a, b):
                raise AssertionError(f"QP {qp}: FFmpeg's decode of the {name} plane differs from recon_ycbcr")
    pt = M.anchor_metrics(rgb, src, dec, nbytes)
    pt["enc_s"] = seconds
    core = getattr(res, "seconds", None)
    if core is not None:
        pt["core_s"] = float(core)
    return pt


# ---------------------------------------------------------------------------
# BD tables


def bd_summary(anchor: list, points: list, qps) -> dict:
    """{metric: {"mean": %, "per": {image: %}}} of ``points`` against ``anchor``."""
    out = {}
    for key, _ in METRICS:
        try:
            mean, per = M.bd_rate_pictures(anchor, points, key, qps=qps)
            out[key] = {"mean": mean, "per": per}
        except (KeyError, ValueError) as e:
            out[key] = {"mean": float("nan"), "per": {}, "error": str(e)}
    return out


def seconds_per_picture(points: list) -> float:
    """Encode seconds summed over the points, divided by the number of pictures."""
    if not points:
        return float("nan")
    return sum(p["enc_s"] for p in points) / len({p["image"] for p in points})


def time_ratio(points: list, ref: list) -> float:
    """sum(enc_s) / sum(ref enc_s) over the (image, qp) pairs both have."""
    r = {(p["image"], p["qp"]): p["enc_s"] for p in ref}
    keys = [(p["image"], p["qp"]) for p in points if (p["image"], p["qp"]) in r]
    if not keys:
        return float("nan")
    a = sum(p["enc_s"] for p in points if (p["image"], p["qp"]) in r)
    return a / sum(r[k] for k in keys)


def fmt_pct(v: float) -> str:
    return "     n/a" if v is None or not np.isfinite(v) else f"{v:+7.2f}%"


def fmt_num(v, spec: str, width: int) -> str:
    return f"{'n/a':>{width}}" if v is None or not np.isfinite(v) else f"{v:{width}{spec}}"


def fmt_ratio(v, width: int) -> str:
    if v is None or not np.isfinite(v):
        return f"{'n/a':>{width}}"
    return f"{v:{width}.3f}" if v < 1 else f"{v:{width}.2f}"


def _json_safe(x):
    """NaN/inf -> None, numpy scalars -> Python numbers (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x


def print_bd_table(rows: list, images: list, title: str) -> None:
    """rows: (label, bd_summary, s/picture, ratio to VVenC medium of this run)."""
    print(title)
    print(f"{'':26}{'PSNR-Y':>9}{'PSNR-YUV':>10}{'PSNR-RGB':>10}{'enc s/pic':>11}{'x VVenC-med':>13}")
    for label, bd, spp, ratio in rows:
        print(f"{label:26}{fmt_pct(bd['psnr_y']['mean']):>9}{fmt_pct(bd['psnr_yuv']['mean']):>10}"
              f"{fmt_pct(bd['psnr_rgb']['mean']):>10}{fmt_num(spp, '.2f', 11)}{fmt_ratio(ratio, 13)}")
    print("per picture, PSNR-Y / PSNR-RGB:")
    print(f"{'':26}" + "".join(f"{im:>18}" for im in images))
    for label, bd, _, _ in rows:
        cells = []
        for im in images:
            y, r = bd["psnr_y"]["per"].get(im), bd["psnr_rgb"]["per"].get(im)
            cells.append("n/a" if y is None or r is None else f"{y:+.2f}/{r:+.2f}%")
        print(f"{label:26}" + "".join(f"{c:>18}" for c in cells))


def print_points(series: dict, images: list, qps: list) -> None:
    """Mean over the pictures, per QP: bpp, PSNR-Y, PSNR-RGB of each series."""
    print(f"\nRD points, mean over {len(images)} picture(s): bpp / PSNR-Y / PSNR-RGB")
    print(f"{'QP':>4}" + "".join(f"{name:>28}" for name in series))
    for qp in qps:
        cells = []
        for pts in series.values():
            sel = [p for p in pts if int(p["qp"]) == qp and p["image"] in images]
            if len(sel) != len(images):
                cells.append("n/a")
                continue
            cells.append(f"{np.mean([p['bpp'] for p in sel]):.4f} / {np.mean([p['psnr_y'] for p in sel]):.3f}"
                         f" / {np.mean([p['psnr_rgb'] for p in sel]):.3f}")
        print(f"{qp:>4}" + "".join(f"{c:>28}" for c in cells))


def compare_with_anchor(points: list, anchor: list) -> dict:
    """Largest |difference| of this run's VVenC points from the anchor JSON's."""
    worst = {"bits": 0, "psnr_y": 0.0, "psnr_u": 0.0, "psnr_v": 0.0, "psnr_rgb": 0.0, "n": 0}
    for p in points:
        a = anchor_point(anchor, p["image"], int(p["qp"]))
        if a is None:
            continue
        worst["n"] += 1
        worst["bits"] = max(worst["bits"], abs(int(p["bits"]) - int(a["bits"])))
        for k in ("psnr_y", "psnr_u", "psnr_v", "psnr_rgb"):
            worst[k] = max(worst[k], abs(float(p[k]) - float(a[k])))
    return worst


# ---------------------------------------------------------------------------
# self-checks


def check_anchor_bd(anchors: dict) -> dict:
    """BD-rates of the VVenC anchor JSONs against the VTM JSON (README: +4.2/+1.6, +18.8/+16.6)."""
    out = {}
    for name, (ry, rr) in README_BD.items():
        y, _ = M.bd_rate_pictures(anchors["VTM"], anchors[name], "psnr_y")
        r, _ = M.bd_rate_pictures(anchors["VTM"], anchors[name], "psnr_rgb")
        out[name] = {"psnr_y": y, "psnr_rgb": r, "readme": (ry, rr),
                     "ok": round(y, 1) == ry and round(r, 1) == rr}
    return out


def run_check(data: Path, anchors: dict, image: str = "kodim23", qp: int = 32) -> bool:
    print("Self-check 1: BD-rate of the VVenC anchors against the VTM anchors (QP 22..37, PCHIP, 4 pictures)")
    ok = True
    for name, r in check_anchor_bd(anchors).items():
        print(f"  {name:14} PSNR-Y {r['psnr_y']:+.3f}%  PSNR-RGB {r['psnr_rgb']:+.3f}%   "
              f"README {r['readme'][0]:+.1f}% / {r['readme'][1]:+.1f}%   {'OK' if r['ok'] else 'MISMATCH'}")
        ok &= r["ok"]
    print(f"Self-check 2: VVenC medium on {image} at QP {qp} against vvenc_medium.json")
    rgb = load_rgb(data / f"{image}.png")
    src = M.anchor_source_planes(rgb)
    with tempfile.TemporaryDirectory(prefix="bench_vtm-") as td:
        pt = encode_vvenc(rgb, src, qp, Path(td))
    a = anchor_point(anchors["VVenC-medium"], image, qp)
    for k in ("bits", "bpp", "psnr_y", "psnr_u", "psnr_v", "psnr_rgb"):
        d = float(pt[k]) - float(a[k])
        print(f"  {k:9} this run {float(pt[k]):12.6f}   anchor {float(a[k]):12.6f}   diff {d:+.2e}")
    good = pt["bits"] == a["bits"] and all(abs(pt[k] - a[k]) < 0.01 for k in ("psnr_y", "psnr_u", "psnr_v",
                                                                               "psnr_rgb"))
    print(f"  encode {pt['enc_s']:.2f} s (anchor machine {a['enc_s']:.2f} s)   {'OK' if good else 'MISMATCH'}")
    return ok and good


# ---------------------------------------------------------------------------
# main


def parse_list(s: str, conv=str) -> list:
    return [conv(x.strip()) for x in s.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=",".join(DEFAULT_IMAGES),
                    help="comma-separated picture names (default: the four anchor pictures)")
    ap.add_argument("--qps", default=",".join(map(str, DEFAULT_QPS)),
                    help="comma-separated QPs; the BD-rates use all of them (default 22,27,32,37)")
    ap.add_argument("--preset", default="medium", help="pyvtm preset: fast, medium or slow")
    ap.add_argument("--tools", action="store_true",
                    help="also encode with each of " + ", ".join(TOOLS) + " switched off, and each of "
                         + ", ".join(OPT_IN_TOOLS) + " switched on, one at a time")
    ap.add_argument("--tool-list", default=None,
                    help="with --tools: only these (comma-separated) of the tools above")
    ap.add_argument("--no-vvenc", action="store_true", help="skip the VVenC medium runs (no time ratios)")
    ap.add_argument("--json", type=Path, help="write all points, BD-rates and times here")
    ap.add_argument("--data", type=Path, default=None, help="folder of kodimNN.png (default: $PYVTM_DATA or "
                                                             "<repo>/../shared/data/kodak)")
    ap.add_argument("--anchors", type=Path, default=None, help="folder of the anchor JSONs (default: "
                                                                "$PYVTM_ANCHORS or <repo>/../shared/anchors)")
    ap.add_argument("--verify-decode", action="store_true",
                    help="also decode every pyvtm bitstream with FFmpeg and require it to equal the recon")
    ap.add_argument("--check", action="store_true",
                    help="only the self-checks: anchor BD-rates vs the README, VVenC kodim23 QP 32 vs its anchor")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def main(argv=None, encode_fn: Optional[Callable] = None) -> dict:
    """Run the benchmark; ``encode_fn`` replaces ``pyvtm.encode`` (tests pass a fake)."""
    args = build_parser().parse_args(argv)
    data = args.data or default_data()
    anchors = load_anchors(args.anchors or default_anchors())
    if args.check:
        ok = run_check(data, anchors)
        if not ok:
            raise SystemExit(1)
        return {"check": ok}

    images = parse_list(args.images)
    qps = parse_list(args.qps, int)
    if len(qps) < 2:
        raise SystemExit("need at least two QPs for a BD-rate")
    vtm = anchors["VTM"]
    for im in images:
        for qp in qps:
            if anchor_point(vtm, im, qp) is None:
                have = sorted({p["image"] for p in vtm})
                qs = sorted({int(p["qp"]) for p in vtm})
                raise SystemExit(f"no VTM anchor point for {im} at QP {qp} (anchors: {have}, QPs {qs})")
        if not (data / f"{im}.png").is_file():
            raise SystemExit(f"{data / (im + '.png')} not found (set --data or $PYVTM_DATA)")
    if encode_fn is None:
        encode_fn = default_encoder()

    configs = {"all tools": {}}
    if args.tools:
        only = set(parse_list(args.tool_list)) if args.tool_list else None
        unknown = (only or set()) - set(TOOLS) - set(OPT_IN_TOOLS)
        if unknown:
            raise SystemExit(f"--tool-list: unknown tool(s) {sorted(unknown)}")
        for t in TOOLS:
            if only is None or t in only:
                configs[f"{t} off"] = {t: False}
        for t in OPT_IN_TOOLS:
            if only is None or t in only:
                configs[f"{t} on"] = {t: True}
    base_opts = {"preset": args.preset}
    results = {name: [] for name in configs}
    vvenc_pts: list = []
    total = len(images) * len(qps) * (len(configs) + (0 if args.no_vvenc else 1))
    bar = Progress(total, args.quiet)
    with tempfile.TemporaryDirectory(prefix="bench_vtm-") as td:
        tmp = Path(td)
        for im in images:
            rgb = load_rgb(data / f"{im}.png")
            src = M.anchor_source_planes(rgb)
            for qp in qps:
                # interleaved, so that both codecs see the same machine load
                if not args.no_vvenc:
                    pt = encode_vvenc(rgb, src, qp, tmp)
                    vvenc_pts.append({"codec": "VVenC-medium", "image": im, "qp": qp, **pt})
                    bar.step(f"{im} QP{qp} VVenC")
                for name, opts in configs.items():
                    pt = encode_pyvtm(encode_fn, rgb, src, qp, {**base_opts, **opts}, tmp, args.verify_decode)
                    results[name].append({"codec": f"pyvtm-{args.preset}", "config": name, "image": im,
                                          "qp": qp, **pt})
                    bar.step(f"{im} QP{qp} {name}")
    bar.close()

    sel = lambda pts: [p for p in pts if p["image"] in images and int(p["qp"]) in qps]  # noqa: E731
    bd = {name: bd_summary(vtm, pts, qps) for name, pts in results.items()}
    out = {"images": images, "qps": qps, "preset": args.preset, "configs": configs,
           "points": [p for pts in results.values() for p in pts] + vvenc_pts, "bd_vs_vtm": {}, "time": {}}

    ratio = lambda pts: time_ratio(pts, vvenc_pts) if vvenc_pts else float("nan")  # noqa: E731
    base = results["all tools"]
    rows = [(f"pyvtm {args.preset}", bd["all tools"], seconds_per_picture(base), ratio(base))]
    out["bd_vs_vtm"][f"pyvtm-{args.preset}"] = bd["all tools"]
    out["time"][f"pyvtm-{args.preset}"] = {"s_per_picture": rows[0][2], "x_vvenc_medium": rows[0][3]}
    if vvenc_pts:
        bdv = bd_summary(vtm, vvenc_pts, qps)
        rows.append(("VVenC medium (this run)", bdv, seconds_per_picture(vvenc_pts), 1.0))
        out["bd_vs_vtm"]["VVenC-medium (this run)"] = bdv
        out["time"]["VVenC-medium (this run)"] = {"s_per_picture": rows[-1][2]}
    for name in ("VVenC-medium", "VVenC-faster"):
        a = sel(anchors[name])
        b = bd_summary(vtm, a, qps)
        rows.append((f"{name} (anchor JSON)", b, float("nan"), float("nan")))
        out["bd_vs_vtm"][f"{name} (anchor JSON)"] = b

    print(f"\n{len(images)} picture(s) {', '.join(images)}; QPs {', '.join(map(str, qps))}; "
          f"pyvtm preset {args.preset}; data {data}")
    print_bd_table(rows, images, "\n(a) BD-rate against VTM 23.13 all-intra (PCHIP, mean over pictures; "
                                 "negative = fewer bits than VTM)")
    series = {f"pyvtm {args.preset}": base, "VTM 23.13": sel(vtm)}
    if vvenc_pts:
        series["VVenC medium (run)"] = vvenc_pts
    print_points(series, images, qps)

    # speed: in-run ratio, and VTM's time through the anchors' VVenC/VTM ratio
    print("\nEncode time (wall clock, one thread; pyvtm: the encode() call, VVenC: the ffmpeg process)")
    if vvenc_pts:
        r = time_ratio(base, vvenc_pts)
        anchor_ratio = time_ratio(sel(anchors["VVenC-medium"]), sel(vtm))
        print(f"  pyvtm {args.preset}: {seconds_per_picture(base):.2f} s/picture, VVenC medium "
              f"{seconds_per_picture(vvenc_pts):.2f} s/picture in this run: pyvtm/VVenC = {r:.3f}")
        print(f"  (anchors: VVenC medium / VTM = {anchor_ratio:.3f}, so pyvtm is about {r * anchor_ratio:.3f} x "
              f"VTM's encode time)")
        out["time"]["anchor_vvenc_over_vtm"] = anchor_ratio
        w = compare_with_anchor(vvenc_pts, anchors["VVenC-medium"])
        out["vvenc_vs_anchor"] = w
        print(f"  VVenC this run vs vvenc_medium.json over {w['n']} points: max |d bits| {w['bits']}, "
              f"max |d PSNR| Y {w['psnr_y']:.1e} U {w['psnr_u']:.1e} V {w['psnr_v']:.1e} "
              f"RGB {w['psnr_rgb']:.1e} dB")
    else:
        print(f"  pyvtm {args.preset}: {seconds_per_picture(base):.2f} s/picture (--no-vvenc: no in-run ratio)")

    if args.tools:
        print("\n(b) Tools switched off one at a time (pyvtm preset "
              f"{args.preset}); BD-rate against VTM and against pyvtm with all tools")
        print(f"{'':18}{'vs VTM: Y':>11}{'RGB':>9}{'vs all: Y':>11}{'RGB':>9}{'enc s/pic':>11}"
              f"{'x all':>8}{'x VVenC-med':>13}")
        out["tools"] = {}
        for name, pts in results.items():
            rel = bd_summary(base, pts, qps) if name != "all tools" else None
            spp = seconds_per_picture(pts)
            rt = time_ratio(pts, base)
            rv = ratio(pts)
            ry = rel["psnr_y"]["mean"] if rel else 0.0
            rr = rel["psnr_rgb"]["mean"] if rel else 0.0
            print(f"{name:18}{fmt_pct(bd[name]['psnr_y']['mean']):>11}{fmt_pct(bd[name]['psnr_rgb']['mean']):>9}"
                  f"{fmt_pct(ry):>11}{fmt_pct(rr):>9}{fmt_num(spp, '.2f', 11)}{fmt_ratio(rt, 8)}"
                  f"{fmt_ratio(rv, 13)}")
            out["tools"][name] = {"options": configs[name], "bd_vs_vtm": bd[name],
                                  "bd_vs_all_tools": rel, "s_per_picture": spp, "x_all_tools": rt,
                                  "x_vvenc_medium": rv}
    if args.json:
        args.json.write_text(json.dumps(_json_safe(out), indent=1, allow_nan=False))
        print(f"\nwrote {args.json}")
    return out


if __name__ == "__main__":
    main()
