#!/usr/bin/env python3
"""(Re)generate the golden bitstreams of tests/golden/ and manifest.json.

Run deliberately, only when a change is MEANT to alter what pyvtm writes or
what a stream decodes to (see README.md beside this file):

    python tests/golden/make_goldens.py            # rewrite streams + manifest
    python tests/golden/make_goldens.py --check    # only report differences

Each stream is encoded with the current encoder, then decoded by pyvtm's
decoder and by FFmpeg's vvc decoder (-threads 1); the script refuses to write
anything unless encoder reconstruction, pyvtm decoder and FFmpeg agree
exactly. The manifest records the md5 of the decoded picture as raw
yuv420p10le bytes (Y, Cb, Cr planes, little-endian 16-bit), the same md5
that `pyvtm_dec` prints.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
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


def smooth(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)
    g = 128 + 90 * np.cos((x + y) / 17.0)
    b = 255.0 * x / max(w - 1, 1)
    return np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8)


def noise(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def checker(h, w, cell):
    y, x = np.mgrid[0:h, 0:w]
    m = ((y // cell + x // cell) % 2).astype(np.uint8) * 255
    return np.stack([m, m // 2, 255 - m], -1)


# name -> (source description, image factory, qp, encoder options, frozen)
# Frozen streams were written by an earlier encoder (quadtree only, before the
# multi-type tree) and are kept as they are: they are checked, never re-encoded.
def golden_specs():
    k = kodak_dir()
    return [
        ("smooth_64x48_qp32", "synthetic smooth pattern", lambda: smooth(48, 64), 32, {}, True),
        ("noise_33x17_qp22", "uniform noise, odd size (conformance window)", lambda: noise(17, 33, 1), 22, {}, True),
        ("checker_80x48_qp42_nodbk", "checkerboard, deblocking off", lambda: checker(48, 80, 6), 42,
         {"deblocking": False}, True),
        ("kodim23_128x96_qp27", "kodim23 crop [100:196, 300:428]",
         lambda: load_rgb(k / "kodim23.png")[100:196, 300:428], 27, {}, True),
        ("kodim01_136x72_qp37_mincu3", "kodim01 crop [200:272, 240:376], min_cu_log2 3",
         lambda: load_rgb(k / "kodim01.png")[200:272, 240:376], 37, {"min_cu_log2": 3}, True),
        ("kodim19_264x136_qp42_nordoq", "kodim19 crop [300:436, 100:364], rdoq off, 2 intra RD candidates",
         lambda: load_rgb(k / "kodim19.png")[300:436, 100:364], 42, {"rdoq": False, "intra_rd_candidates": 2}, True),
        # Multi-type tree, dual tree and CCLM (the defaults since the coding-tree layer).
        ("kodim05_192x128_qp32_mtt", "kodim05 crop [200:328, 300:492], default tools (MTT, dual tree, CCLM)",
         lambda: load_rgb(k / "kodim05.png")[200:328, 300:492], 32, {}, False),
        ("kodim15_128x128_qp27_single_tree", "kodim15 crop [120:248, 200:328], MTT with one coding tree",
         lambda: load_rgb(k / "kodim15.png")[120:248, 200:328], 27, {"dual_tree": False}, False),
        ("kodim21_200x136_qp37_slow", "kodim21 crop [100:236, 300:500], preset slow",
         lambda: load_rgb(k / "kodim21.png")[100:236, 300:500], 37, {"preset": "slow"}, False),
        ("smooth_40x24_qp30_fast", "synthetic smooth pattern smaller than a CTU, preset fast",
         lambda: smooth(24, 40), 30, {"preset": "fast"}, False),
    ]


def yuv_md5(planes) -> str:
    h = hashlib.md5()
    for p in planes:
        h.update(np.ascontiguousarray(p, dtype="<u2").tobytes())
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the stored goldens, write nothing")
    args = ap.parse_args(argv)

    import pyvtm
    from pyvtm.ffmpeg import decode_vvc

    entries, differs = [], 0
    old = {}
    manifest_path = HERE / "manifest.json"
    if manifest_path.exists():
        old = {e["file"]: e for e in json.loads(manifest_path.read_text())["streams"]}
    for name, source, make, qp, opts, frozen in golden_specs():
        fname = f"{name}.266"
        prev = old.get(fname)
        if frozen:
            if prev is None or not (HERE / fname).exists():
                print(f"{fname}: frozen stream missing", file=sys.stderr)
                return 1
            data = (HERE / fname).read_bytes()
            dec = pyvtm.decode(data, ycbcr=True)
            h, w = dec[0].shape
            if not (yuv_md5(dec) == prev["md5"] == yuv_md5(decode_vvc(data, w, h))):
                print(f"{fname}: frozen stream no longer decodes to its md5", file=sys.stderr)
                return 1
            entries.append(prev)
            print(f"{fname}: frozen, decodes to its md5")
            continue
        res = pyvtm.encode(make(), qp=qp, **opts)
        dec = pyvtm.decode(res.bitstream, ycbcr=True)
        h, w = dec[0].shape
        ff = decode_vvc(res.bitstream, w, h)
        md5 = yuv_md5(dec)
        if not (md5 == yuv_md5(res.recon_ycbcr) == yuv_md5(ff)):
            print(f"{name}: encoder recon, pyvtm decoder and FFmpeg disagree; not writing goldens", file=sys.stderr)
            return 1
        entries.append({"file": fname, "md5": md5, "width": w, "height": h, "qp": qp, "options": opts,
                        "source": source, "bytes": len(res.bitstream)})
        same_stream = (HERE / fname).exists() and (HERE / fname).read_bytes() == res.bitstream
        status = "unchanged" if prev and prev["md5"] == md5 and same_stream else (
            "stream changed, same md5" if prev and prev["md5"] == md5 else "NEW/CHANGED md5")
        differs += status != "unchanged"
        print(f"{fname}: {w}x{h} qp {qp} {len(res.bitstream)} bytes md5 {md5}  [{status}]")
        if not args.check:
            (HERE / fname).write_bytes(res.bitstream)
    if args.check:
        return 1 if differs else 0
    manifest = {
        "description": "Golden bitstreams: md5 of the decoded picture as yuv420p10le (Y, Cb, Cr, "
                       "little-endian uint16). Regenerate only deliberately: tests/golden/make_goldens.py",
        "streams": entries,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(entries)} streams and {manifest_path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
