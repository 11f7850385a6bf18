"""PSNR-RGB gain of an MSGDN post-filter at about a target bpp (default 0.15).

  python benchmarks/eval_msgdn.py [--images DIR_OR_FILES...] [--model msgdn_s] [--target-bpp 0.15]
                                  [--qp-start 40] [--json OUT.json]

Per picture: encode with ``postfilter=MODEL`` at QPs from ``--qp-start``
(moving by one QP towards the target) until the bpp of the stream (its post-
filter SEI included) brackets the target, keep the QP whose bpp is nearest;
report PSNR-RGB of the decoded picture without and with the post-filter (the
same stream) and the gain. Default pictures: Kodak kodim01/05/15/23 (the
anchors' reference pictures); Kodak is for evaluation only, never training.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    import numpy as np

    import pyvtm
    from pyvtm.utils.dataset import _load_rgb, list_images

    p = argparse.ArgumentParser()
    kodak = ROOT.parent / "shared" / "data" / "kodak"
    p.add_argument("--images", nargs="*", default=[str(kodak / f"kodim{i:02d}.png") for i in (1, 5, 15, 23)])
    p.add_argument("--model", default="msgdn_s")
    p.add_argument("--target-bpp", type=float, default=0.15)
    p.add_argument("--qp-start", type=int, default=40)
    p.add_argument("--json")
    a = p.parse_args(argv)
    rows = []
    for path in list_images(a.images):
        rgb = _load_rgb(path)
        tried = {}
        qp = a.qp_start
        while qp not in tried and 0 <= qp <= 63:
            t = time.perf_counter()
            res = pyvtm.encode(rgb, qp, postfilter=a.model)
            tried[qp] = (res, time.perf_counter() - t)
            below = [q for q in tried if tried[q][0].bpp <= a.target_bpp]
            above = [q for q in tried if tried[q][0].bpp > a.target_bpp]
            if below and above:
                break
            qp = qp + 1 if not below else qp - 1
        q = min(tried, key=lambda k: abs(tried[k][0].bpp - a.target_bpp))
        res, sec = tried[q]
        row = {"image": Path(path).name, "qp": q, "bpp": res.bpp, "sei_bytes": None,
               "psnr_rgb": res.psnr_rgb_unfiltered, "psnr_rgb_postfilter": res.psnr_rgb,
               "gain_db": res.psnr_rgb - res.psnr_rgb_unfiltered, "postfilter_s": res.postfilter["seconds"],
               "model_id": res.postfilter["model_id"]}
        from pyvtm.nnpf import strip_postfilter_sei

        row["sei_bytes"] = len(res.bitstream) - len(strip_postfilter_sei(res.bitstream))
        row["bpp_without_sei"] = 8 * (len(res.bitstream) - row["sei_bytes"]) / (res.width * res.height)
        rows.append(row)
        print(f"{row['image']}: qp {q} {res.bpp:.4f} bpp (SEI {row['sei_bytes']} B)  PSNR-RGB "
              f"{row['psnr_rgb']:.3f} -> {row['psnr_rgb_postfilter']:.3f} dB ({row['gain_db']:+.3f})  "
              f"filter {row['postfilter_s']:.1f} s", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("bpp", "psnr_rgb", "psnr_rgb_postfilter", "gain_db")}
    print(f"mean: {mean['bpp']:.4f} bpp  PSNR-RGB {mean['psnr_rgb']:.3f} -> {mean['psnr_rgb_postfilter']:.3f} dB "
          f"({mean['gain_db']:+.3f})")
    if a.json:
        Path(a.json).write_text(json.dumps({"model": a.model, "target_bpp": a.target_bpp, "rows": rows,
                                            "mean": mean}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
