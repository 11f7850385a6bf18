"""PSNR-RGB gain of MSGDN post-filters at about a target bpp (default 0.15).

  python benchmarks/eval_msgdn.py [--images FILES_OR_DIRS...] [--models msgdn_s,PATH.pt] [--target-bpp 0.15]
                                  [--qp-start 40] [--json OUT.json]

Per picture: encode at QPs from ``--qp-start`` (one QP at a time towards the
target) until the bpp of the post-filtered stream (the plain stream plus the
NNPFC/NNPFA SEI the first model adds) brackets the target; keep the QP whose
bpp is nearest. On that stream: PSNR-RGB of the decoded picture, and of the
picture filtered by each model (``pyvtm.postfilter``, the slice QP as input,
512x512 tiles with 32 samples overlap, as ``pyvtm.decode`` does). Default
pictures: Kodak kodim01/05/15/23 (the anchors' reference pictures); Kodak is
for evaluation only, never training.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _encode(rgb, qp: int, stem: str, cache):
    import pickle

    import pyvtm

    f = Path(cache) / f"{stem}-qp{qp}-{pyvtm.__version__}.pkl" if cache else None
    if f is not None and f.is_file():
        return pickle.loads(f.read_bytes())
    res = pyvtm.encode(rgb, qp)
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(pickle.dumps(res))
    return res


def main(argv=None) -> int:
    import numpy as np

    import pyvtm
    from pyvtm.metrics import psnr
    from pyvtm.nnpf import add_postfilter_sei
    from pyvtm.postfilters import load_postfilter
    from pyvtm.utils.dataset import _load_rgb, list_images

    p = argparse.ArgumentParser()
    import os

    env = os.environ.get("PYVTM_DATA")  # as tests/conftest.py: the data root or the Kodak folder
    kodak = (Path(env) / "kodak" if (Path(env) / "kodak").is_dir() else Path(env)) if env else \
        ROOT.parent / "shared" / "data" / "kodak"
    p.add_argument("--images", nargs="*", default=[str(kodak / f"kodim{i:02d}.png") for i in (1, 5, 15, 23)])
    p.add_argument("--models", default="msgdn_s")
    p.add_argument("--target-bpp", type=float, default=0.15)
    p.add_argument("--qp-start", type=int, default=40)
    p.add_argument("--json")
    p.add_argument("--cache", help="folder keeping the plain encodes (image, QP) between runs")
    a = p.parse_args(argv)
    models = [m for m in a.models.split(",") if m]
    ids = [load_postfilter(m)[1]["model_id"] for m in models]
    rows = []
    for path in list_images(a.images):
        rgb = _load_rgb(path)
        h, w = rgb.shape[:2]
        tried = {}
        qp = a.qp_start
        while qp not in tried and 0 <= qp <= 63:
            res = _encode(rgb, qp, Path(path).stem, a.cache)
            sei = len(add_postfilter_sei(res.bitstream, ids[0])) - len(res.bitstream)
            tried[qp] = (res, 8 * (len(res.bitstream) + sei) / (w * h), sei)
            below = [q for q in tried if tried[q][1] <= a.target_bpp]
            above = [q for q in tried if tried[q][1] > a.target_bpp]
            if below and above:
                break
            qp = qp + 1 if not below else qp - 1
        q = min(tried, key=lambda k: abs(tried[k][1] - a.target_bpp))
        res, bpp, sei = tried[q]
        row = {"image": Path(path).name, "qp": q, "bpp_with_sei": bpp, "bpp_without_sei": res.bpp,
               "sei_bytes": sei, "psnr_rgb": res.psnr_rgb, "models": {}}
        dec = pyvtm.ycbcr_to_rgb(*res.recon_ycbcr)
        line = f"{row['image']}: qp {q} {bpp:.4f} bpp (SEI {sei} B)  PSNR-RGB {res.psnr_rgb:.3f}"
        for m, mid in zip(models, ids):
            t = time.perf_counter()
            out = pyvtm.postfilter(dec, model=m, qp=q)[:h, :w]
            sec = time.perf_counter() - t
            v = psnr(rgb, out, 255.0)
            row["models"][m] = {"model_id": mid, "psnr_rgb": v, "gain_db": v - res.psnr_rgb, "seconds": sec}
            line += f"  {m}: {v:.3f} ({v - res.psnr_rgb:+.3f}, {sec:.1f} s)"
        rows.append(row)
        print(line, flush=True)
    mean = {"bpp_with_sei": float(np.mean([r["bpp_with_sei"] for r in rows])),
            "psnr_rgb": float(np.mean([r["psnr_rgb"] for r in rows]))}
    line = f"mean: {mean['bpp_with_sei']:.4f} bpp  PSNR-RGB {mean['psnr_rgb']:.3f}"
    for m in models:
        g = float(np.mean([r["models"][m]["gain_db"] for r in rows]))
        mean[m] = {"psnr_rgb": mean["psnr_rgb"] + g, "gain_db": g}
        line += f"  {m}: {mean['psnr_rgb'] + g:.3f} ({g:+.3f})"
    print(line)
    if a.json:
        Path(a.json).write_text(json.dumps({"models": models, "target_bpp": a.target_bpp, "rows": rows,
                                            "mean": mean}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
