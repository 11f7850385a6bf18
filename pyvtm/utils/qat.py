"""Quantisation-aware fine-tuning of the integer in-loop CNNs.

From the float weights (a :class:`~pyvtm.models.cnnif.CNNIFilter` or a
:class:`~pyvtm.models.cnnmc.CNNMCNet`): build the fake-quantised network of
:mod:`pyvtm.models.intnet` (the same graph as the integer one, float32 with
straight-through rounding), calibrate the activation scales on training
samples, fine-tune the float parameters for a few hundred steps with the
quantisation in the loop, and convert to the exported integer module.

    python -m pyvtm.utils.qat cnnif DATA.npz.xz --from cnnif_s --steps 400 -o cnnif_s_int.pt
    python -m pyvtm.utils.qat cnnmc DATA.npz.xz --from cnnmc --steps 400 -o cnnmc_int.pt

CPU is enough (a few minutes for ``cnnif_s``); one thread unless told.
"""
import argparse
import json
import math
import time
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from ..models import intnet
from ..models.cnnif import CNNIFilter
from ..models.cnnmc import CNNMCNet
from .train import CnnifData, CnnmcData, evaluate_cnnif_crops, evaluate_cnnmc

__all__ = ["float_model", "qat_cnnif", "qat_cnnmc", "main"]


def float_model(name_or_path):
    """The float network (nn.Module) of a registry name or a model file."""
    from .. import zoo
    from .export import load_model

    if isinstance(name_or_path, str) and name_or_path in zoo.REGISTRY:
        mod, meta = zoo.load(name_or_path)
    else:
        mod, meta = load_model(name_or_path)
    if meta.get("arithmetic") == "integer":
        raise ValueError(f"{name_or_path} is already an integer model")
    if meta["kind"] == "cnnif":
        m = CNNIFilter(meta["preset"], layout=meta["layout"], qp_input=meta["qp_input"],
                       num_units=meta["num_units"], channels=meta["channels"],
                       convs_per_unit=meta["convs_per_unit"], tile=meta["tile"])
        m.load_state_dict(mod.state_dict())
    else:
        m = CNNMCNet(meta["preset"], widths=meta["widths"], embed=meta["embed"])
        m.load_state_dict({k[len("net."):]: v for k, v in mod.state_dict().items()})
    return m.float().eval(), meta


def _lr(step: int, total: int, base: float) -> float:
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / max(1, total))))


def qat_cnnif(model: CNNIFilter, data_paths: Sequence, *, steps: int = 400, batch: int = 8, patch: int = 96,
              lr: float = 5e-5, weight_bits: int = intnet.WEIGHT_BITS, calib_crops: int = 32, seed: int = 0,
              val_every: int = 10, log=print) -> dict:
    """Calibrate + fine-tune; returns {"fake": model, "int": exported, "eval": {...}}."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = CnnifData(data_paths, "cpu", "train", val_every)
    val = CnnifData(data_paths, "cpu", "val", val_every)
    q = intnet.from_float_cnnif(model, weight_bits=weight_bits)
    n = min(calib_crops, len(data))
    cal = [[p[i:i + 4].float().unsqueeze(1) for p in data.rec] + [data.qp[i:i + 4]] for i in range(0, n, 4)]
    intnet.calibrate(q, cal)
    ev = {}
    with torch.no_grad():
        ev["float"] = evaluate_cnnif_crops(model, val, batch=2)
        ev["ptq"] = evaluate_cnnif_crops(intnet.to_integer(q), val, batch=2)
    log(json.dumps({"float": ev["float"]["gain_y"], "ptq": ev["ptq"]["gain_y"]}))
    params = [p for p in q.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    q.train()
    t0 = time.time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = _lr(step, steps, lr)
        rec, org, qp = data.sample(batch, patch, gen)
        out = q(rec[0], rec[1], rec[2], qp)
        num, den = 0.0, 0
        for o, g in zip(out, org):
            d = (o - g) / 1023.0
            num = num + (d * d).sum()
            den += d.numel()
        loss = num / den
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if (step + 1) % 50 == 0:
            log(json.dumps({"step": step + 1, "loss": float(loss), "sec": round(time.time() - t0, 1)}))
    q.eval()
    im = intnet.to_integer(q)
    with torch.no_grad():
        ev["qat"] = evaluate_cnnif_crops(im, val, batch=2)
    log(json.dumps({"qat": ev["qat"]["gain_y"]}))
    ev["steps"], ev["seconds"], ev["batch"], ev["patch"], ev["lr"] = steps, round(time.time() - t0, 1), batch, patch, lr
    return {"fake": q, "int": im, "eval": ev}


def qat_cnnmc(net: CNNMCNet, data_paths: Sequence, *, steps: int = 400, batch: int = 16, lr: float = 1e-4,
              weight_bits: int = intnet.WEIGHT_BITS, calib_ctus: int = 64, seed: int = 0, val_every: int = 10,
              log=print) -> dict:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = CnnmcData(data_paths, "cpu", "train", val_every)
    val = CnnmcData(data_paths, "cpu", "val", val_every)
    q = intnet.from_float_cnnmc(net, weight_bits=weight_bits)
    cal = []
    for s in range(0, min(calib_ctus, len(data)), 16):
        items = torch.tensor(data.ctus[s:s + 16], dtype=torch.long)
        recon, modes, av, _ = data.gather(items)
        cal.append((recon, modes, av))
    intnet.calibrate_cnnmc(q, cal)
    ev = {}
    with torch.no_grad():
        ev["float"] = evaluate_cnnmc(net, val)
        ev["ptq"] = evaluate_cnnmc(intnet.to_integer(q), val)
    log(json.dumps({"float": ev["float"]["top6"], "ptq": ev["ptq"]["top6"]}))
    params = [p for p in q.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    q.train()
    t0 = time.time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = _lr(step, steps, lr)
        recon, modes, av, target = data.sample(batch, gen)
        z = q.logits(recon, modes, av) / float(1 << intnet.LOGIT_SHIFT)
        loss = F.cross_entropy(z, torch.where(target > 66, torch.full_like(target, -100), target), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if (step + 1) % 50 == 0:
            log(json.dumps({"step": step + 1, "loss": float(loss), "sec": round(time.time() - t0, 1)}))
    q.eval()
    im = intnet.to_integer(q)
    with torch.no_grad():
        ev["qat"] = evaluate_cnnmc(im, val)
    log(json.dumps({"qat": ev["qat"]["top6"]}))
    ev["steps"], ev["seconds"], ev["batch"], ev["lr"] = steps, round(time.time() - t0, 1), batch, lr
    return {"fake": q, "int": im, "eval": ev}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pyvtm.utils.qat", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["cnnif", "cnnmc"])
    ap.add_argument("data", nargs="+")
    ap.add_argument("--from", dest="src", required=True, help="float model: registry name or file")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--weight-bits", type=int, default=intnet.WEIGHT_BITS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--version", default="2")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from .export import export_integer

    model, meta = float_model(a.src)
    kw = {k: v for k, v in (("batch", a.batch), ("lr", a.lr)) if v is not None}
    fn = qat_cnnif if a.kind == "cnnif" else qat_cnnmc
    res = fn(model, a.data, steps=a.steps, weight_bits=a.weight_bits, **kw)
    training = {"qat": res["eval"], "from": meta.get("model_id"), "data": [Path(p).name for p in a.data]}
    path = export_integer(res["int"], a.output, version=a.version, training=training)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
