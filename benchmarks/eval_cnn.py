"""Evaluate the shipped CNN tools on held-out pictures (Kodak by default).

  python benchmarks/eval_cnn.py cnnif  [--models cnnif_s cnnif] [--set EVAL.npz.xz | --images DIR] [--qps 27 32 37 42]
  python benchmarks/eval_cnn.py cnnmc  [--set CNNMC.npz.xz | --images DIR]

cnnif: each picture is encoded with pyvtm at each QP (or read from an eval
set made by pyvtm.utils.dataset.build_eval_set), filtered with the model
exactly as the codec hook does (float32, rounded, clipped) and the PSNR of
Y/Cb/Cr (peak 1023) before and after is averaged over the pictures.
cnnmc: top-1 / top-6 of the CNNMC list vs the standard 8.4.2 list per CU
(pyvtm.utils.train.evaluate_cnnmc) on a CNNMC set (needs the encoder's modes).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

if __name__ == "__main__":  # run from a checkout: use this tree's pyvtm
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _psnr(a, b):
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    return 99.0 if mse == 0 else 10 * np.log10(1023.0 ** 2 / mse)


def _filter_on(mod, rec, qp, device):
    """apply_filter on another device (CUDA: float32 without TF32)."""
    import torch

    t = [torch.from_numpy(np.ascontiguousarray(p, dtype=np.float32))[None, None].to(device) for p in rec]
    with torch.inference_mode():
        out = mod(t[0], t[1], t[2], torch.tensor([float(qp)], device=device))
    return tuple(torch.clamp(torch.floor(o[0, 0] + 0.5), 0, 1023).cpu().numpy().astype(np.uint16) for o in out)


def eval_cnnif(models, pics, qps, threads, device="cpu"):
    import torch

    from pyvtm import zoo
    from pyvtm.models.cnnif import apply_filter

    torch.set_num_threads(threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {}
    for name in models:
        if name.startswith("ckpt:"):  # a training checkpoint ("ckpt:PATH" or "ckpt:PATH:fp16")
            from pyvtm.utils.train import cnnif_from_checkpoint

            path, _, half = name[5:].partition(":fp16")
            mod = cnnif_from_checkpoint(path)
            if _ == ":fp16":  # the float16-rounded weights, as exported with --fp16
                mod = mod.half().float()
        elif name.endswith(".pt"):
            from pyvtm.utils.export import load_model

            mod, _ = load_model(name, "cnnif")
        else:
            mod, _ = zoo.load(name)
        if device != "cpu":
            mod = mod.to(device)
        res = {}
        t0 = time.time()
        npx = 0
        for qp in qps:
            rows = []
            for p in pics:
                rec = p["rec"][qp]
                flt = apply_filter(mod, *rec, qp, one_thread=threads == 1) if device == "cpu" else \
                    _filter_on(mod, rec, qp, device)
                npx += rec[0].size
                rows.append([_psnr(r, o) for r, o in zip(rec, p["orig"])] + [_psnr(f, o) for f, o in zip(flt, p["orig"])])
            r = np.mean(np.array(rows), axis=0)
            res[qp] = {"psnr_y": r[0], "psnr_y_cnnif": r[3], "gain_y": r[3] - r[0], "gain_cb": r[4] - r[1],
                       "gain_cr": r[5] - r[2]}
            print(f"{name} qp {qp}: PSNR-Y {r[0]:.3f} -> {r[3]:.3f} dB (gain Y {r[3]-r[0]:+.3f}, "
                  f"Cb {r[4]-r[1]:+.3f}, Cr {r[5]-r[2]:+.3f}) over {len(pics)} pictures", flush=True)
        res["seconds_per_mpixel"] = (time.time() - t0) / (npx / 1e6)
        res["mean_gain_y"] = float(np.mean([res[q]["gain_y"] for q in qps]))
        out[name] = res
        print(f"{name}: mean gain Y {res['mean_gain_y']:+.3f} dB, {res['seconds_per_mpixel']:.2f} s/Mpixel "
              f"({threads} thread(s))", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("tool", choices=["cnnif", "cnnmc"])
    ap.add_argument("--models", nargs="+")
    ap.add_argument("--set", help="eval set file (pyvtm.utils.dataset)")
    ap.add_argument("--images", default="../shared/data/kodak")
    ap.add_argument("--qps", nargs="+", type=int, default=[27, 32, 37, 42])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cnnif: cpu (exactly the codec's computation) or cuda")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    from pyvtm.utils import dataset

    if a.tool == "cnnif":
        if a.set:
            pics, meta = dataset.load_eval_set(a.set)
            qps = [q for q in a.qps if q in meta["qps"]]
        else:
            path = dataset.build_eval_set(dataset.list_images([a.images]), "/tmp/pyvtm_eval_set.npz.xz", qps=a.qps)
            pics, meta = dataset.load_eval_set(path)
            qps = a.qps
        res = eval_cnnif(a.models or ["cnnif_s"], pics, qps, a.threads, a.device)
    else:
        import torch

        from pyvtm import zoo
        from pyvtm.utils.train import CnnmcData, evaluate_cnnmc

        path = a.set or dataset.build_cnnmc_dataset(dataset.list_images([a.images]), "/tmp/pyvtm_cnnmc_eval.npz.xz",
                                                    crop=512)
        data = CnnmcData([path], "cpu", "all")
        torch.set_num_threads(a.threads)
        res = {}
        for name in a.models or ["cnnmc"]:
            if name.endswith(".pt"):
                from pyvtm.utils.export import load_model

                mod, meta = load_model(name, "cnnmc")
            else:
                mod, meta = zoo.load(name)
            if meta.get("arithmetic") == "integer":  # returns the integer probabilities itself
                res[name] = evaluate_cnnmc(mod, data)
                print(name, json.dumps(res[name]), flush=True)
                continue
            from pyvtm.utils.train import cnnmc_from_checkpoint  # noqa: F401
            from pyvtm.models.cnnmc import CNNMCNet

            # evaluate the shipped weights: rebuild the net from the TorchScript module's state
            net = CNNMCNet(meta["preset"], widths=meta["widths"], embed=meta["embed"])
            net.load_state_dict({k[len("net."):]: v for k, v in mod.state_dict().items()})
            res[name] = evaluate_cnnmc(net, data)
            print(name, json.dumps(res[name]), flush=True)
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
