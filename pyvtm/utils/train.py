"""Training loops for the CNN coding tools (CPU or GPU).

``pyvtm train cnnif DATA... --out DIR`` / ``pyvtm train cnnmc DATA... --out DIR``
(see :func:`add_train_arguments`), or :func:`train_cnnif` /
:func:`train_cnnmc` from Python. ``DATA`` are files written by
:mod:`pyvtm.utils.dataset`.

* Patches are sampled from the whole data set held in memory (on the
  training device) with random flips/transposition.
* CNNIF: L1 loss for the first ``l1_fraction`` of the steps, then MSE, on
  all three planes (normalised by 1023, every sample weighted alike).
  Adam, linear warm-up then cosine decay.
* CNNMC: cross-entropy over the 4x4 units of the current CTU, transposition
  augmentation (above <-> left, angular mode m -> 68 - m).
* A run is bounded by ``steps`` and/or ``minutes`` (with ``minutes`` and no
  ``steps`` the step count is set from the speed of the first steps; with a
  time budget the learning-rate schedule and the L1 -> MSE switch also
  follow the elapsed fraction of it, so the run anneals before its deadline).
* ``DIR/last.pt`` is written every ``ckpt_every`` steps and at the end
  (model, optimiser, step, RNG states, history); ``resume=True`` continues
  from it. ``DIR/log.jsonl`` holds the training log.
* Several GPUs or nodes: start the same command under ``torchrun``
  (``torchrun --nproc-per-node N -m pyvtm train ...``). A process that sees
  ``WORLD_SIZE > 1`` joins the process group (NCCL on CUDA, gloo on CPU),
  wraps the network in DistributedDataParallel and draws its own samples
  (generator seeded ``seed + 7919 * rank``); ``batch`` is the global batch,
  split evenly over the processes, so the schedule and the hyper-parameters
  mean the same as in one process. Rank 0 alone logs, validates and writes
  the checkpoint (which holds every rank's RNG state, so ``resume`` under the
  same world size continues each rank's stream, and the parameter checksums
  of all replicas at the end). With a time budget, rank 0's clock decides
  the step count, the schedule position and the stop for all ranks. Without
  ``torchrun`` (the default) nothing of this is used.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..models.cnnif import CNNIFilter
from ..models.cnnmc import CNNMCNet, NUM_MODES, cnn_ranking, hybrid_mpm_list, mpm_list_from_quantised, standard_mpm_list
from .dataset import _Progress, load_dataset

__all__ = ["train_cnnif", "train_cnnmc", "train_msgdn", "CnnifData", "CnnmcData", "MsgdnData",
           "evaluate_cnnif_crops", "evaluate_cnnmc", "evaluate_msgdn_crops", "load_checkpoint", "psnr"]


# ---------------------------------------------------------------------------
# data

def _split_mask(crop_image: np.ndarray, val_every: int) -> np.ndarray:
    """True for validation crops: those of every ``val_every``-th image."""
    if val_every <= 0:
        return np.zeros(len(crop_image), bool)
    return (crop_image % val_every) == val_every - 1


class CnnifData:
    """(original, reconstruction, qp) samples of one or more CNNIF sets, as
    int16 tensors on ``device``."""

    def __init__(self, paths: Sequence, device="cpu", split: str = "all", val_every: int = 10):
        ys, cbs, crs, oys, ocbs, ocrs, qps = [], [], [], [], [], [], []
        self.crop = None
        for p in paths:
            a, meta = load_dataset(p)
            if meta.get("kind") != "cnnif-dataset":
                raise ValueError(f"{p}: not a CNNIF data set (kind {meta.get('kind')!r})")
            val = _split_mask(a["crop_image"], val_every)[a["crop_index"]]
            keep = {"all": np.ones_like(val), "train": ~val, "val": val}[split]
            ci = a["crop_index"][keep]
            if self.crop is None:
                self.crop = a["orig_y"].shape[1:]
            elif self.crop != a["orig_y"].shape[1:]:
                raise ValueError("all CNNIF data sets must have the same crop size")
            ys.append(a["rec_y"][keep]); cbs.append(a["rec_cb"][keep]); crs.append(a["rec_cr"][keep])
            oys.append(a["orig_y"][ci]); ocbs.append(a["orig_cb"][ci]); ocrs.append(a["orig_cr"][ci])
            qps.append(a["qp"][keep])

        def t(lst):
            return torch.from_numpy(np.concatenate(lst).astype(np.int16)).to(device)

        self.rec = [t(ys), t(cbs), t(crs)]
        self.org = [t(oys), t(ocbs), t(ocrs)]
        self.qp = torch.from_numpy(np.concatenate(qps).astype(np.float32)).to(device)
        self.device = torch.device(device)
        self.n = int(self.qp.numel())

    def __len__(self) -> int:
        return self.n

    def sample(self, batch: int, patch: int, gen: torch.Generator):
        """Random patches (luma ``patch`` x ``patch``, even positions) with a
        random flip/transposition per batch. Returns rec (y, cb, cr), org
        (y, cb, cr) as float tensors and qp (B,)."""
        if patch % 2 or patch > self.crop[0] or patch > self.crop[1]:
            raise ValueError(f"patch must be even and at most the crop size {self.crop}")
        dev = self.device
        H, W = self.crop
        idx = torch.randint(0, self.n, (batch,), generator=gen).to(dev)
        py = torch.randint(0, (H - patch) // 2 + 1, (batch,), generator=gen).to(dev) * 2
        px = torch.randint(0, (W - patch) // 2 + 1, (batch,), generator=gen).to(dev) * 2
        aug = torch.randint(0, 8, (1,), generator=gen).item()
        out = []
        for planes in (self.rec, self.org):
            for c, pl in enumerate(planes):
                s = 2 if c else 1
                n = patch // s
                ar = torch.arange(n, device=dev)
                yy = (py // s)[:, None] + ar
                xx = (px // s)[:, None] + ar
                v = pl[idx[:, None, None], yy[:, :, None], xx[:, None, :]].float().unsqueeze(1)
                if aug & 1:
                    v = v.flip(3)
                if aug & 2:
                    v = v.flip(2)
                if aug & 4:
                    v = v.transpose(2, 3)
                out.append(v.contiguous())
        return out[:3], out[3:], self.qp[idx]


class CnnmcData:
    """CTU samples of one or more CNNMC sets: every CTU of every crop (the
    crop is the picture: neighbours outside it are unavailable)."""

    def __init__(self, paths: Sequence, device="cpu", split: str = "all", val_every: int = 10):
        recs, modes, cus, self.mode_sources = [], [], [], set()
        for p in paths:
            a, meta = load_dataset(p)
            if meta.get("kind") != "cnnmc-dataset":
                raise ValueError(f"{p}: not a CNNMC data set (kind {meta.get('kind')!r})")
            self.mode_sources.add(meta.get("mode_source", "encoder"))
            n = len(a["modes"])
            val = _split_mask(np.arange(n), val_every)
            keep = {"all": np.ones(n, bool), "train": ~val, "val": val}[split]
            recs.append(a["rec_y"][keep])
            modes.append(a["modes"][keep]); cus.append(a["cu_log2"][keep])
        rec = np.concatenate(recs).astype(np.int16)
        mod = np.concatenate(modes).astype(np.int64)
        self.cu_log2 = np.concatenate(cus)
        self.rec_np, self.modes_np = rec, mod
        N, H, W = rec.shape
        self.n_pic, self.H, self.W = N, H, W
        self.device = torch.device(device)
        # padded by one CTU above/left: 512 / unavailable
        rp = np.full((N, H + 128, W + 128), 512, np.int16); rp[:, 128:, 128:] = rec
        mp = np.full((N, H // 4 + 32, W // 4 + 32), 255, np.int64); mp[:, 32:, 32:] = mod
        self.rec_p = torch.from_numpy(rp).to(self.device)
        self.modes_p = torch.from_numpy(mp).to(self.device)
        cy, cx = np.meshgrid(np.arange(H // 128), np.arange(W // 128), indexing="ij")
        self.ctus = [(n, int(y), int(x)) for n in range(N) for y, x in zip(cy.ravel(), cx.ravel())]

    def __len__(self) -> int:
        return len(self.ctus)

    def gather(self, items: torch.Tensor):
        """items (B, 3) long [pic, ctu_row, ctu_col] -> recon (B,3,128,128) float,
        modes (B,3,32,32) long, available (B,3) float, target (B,32,32) long."""
        dev = self.device
        n, cy, cx = items[:, 0], items[:, 1], items[:, 2]
        ar, au = torch.arange(128, device=dev), torch.arange(32, device=dev)
        recs, mods, avs = [], [], []
        for dy, dx in ((-1, 0), (0, -1), (-1, -1)):   # above, left, above-left (padded coords +1)
            yy = ((cy + 1 + dy) * 128)[:, None] + ar
            xx = ((cx + 1 + dx) * 128)[:, None] + ar
            recs.append(self.rec_p[n[:, None, None], yy[:, :, None], xx[:, None, :]])
            uy = ((cy + 1 + dy) * 32)[:, None] + au
            ux = ((cx + 1 + dx) * 32)[:, None] + au
            mods.append(self.modes_p[n[:, None, None], uy[:, :, None], ux[:, None, :]])
            avs.append(((cy + dy >= 0) & (cx + dx >= 0)).float())
        uy = ((cy + 1) * 32)[:, None] + au
        ux = ((cx + 1) * 32)[:, None] + au
        target = self.modes_p[n[:, None, None], uy[:, :, None], ux[:, None, :]]
        return (torch.stack(recs, 1).float(), torch.stack(mods, 1), torch.stack(avs, 1), target)

    def sample(self, batch: int, gen: torch.Generator, augment: bool = True):
        sel = torch.randint(0, len(self.ctus), (batch,), generator=gen)
        items = torch.tensor([self.ctus[i] for i in sel.tolist()], dtype=torch.long, device=self.device)
        recon, modes, av, target = self.gather(items)
        if augment:
            t = torch.rand(batch, generator=gen).to(self.device) < 0.5
            if bool(t.any()):
                recon[t] = recon[t][:, [1, 0, 2]].transpose(2, 3)
                modes[t] = _transpose_modes_t(modes[t][:, [1, 0, 2]].transpose(2, 3))
                target[t] = _transpose_modes_t(target[t].transpose(1, 2))
        return recon, modes, av, target


def _transpose_modes_t(m: torch.Tensor) -> torch.Tensor:
    return torch.where((m >= 2) & (m <= 66), 68 - m, m)


# ---------------------------------------------------------------------------
# helpers

def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 1023.0) -> torch.Tensor:
    """Per-sample PSNR over all but the first dimension."""
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(peak * peak / mse)


def _lr_at(step: int, total: int, base: float, warmup: int, progress: Optional[float] = None) -> float:
    """Linear warm-up, then cosine decay to 1% over the run; ``progress``
    (0..1, e.g. the elapsed fraction of a time budget) overrides the
    step-based position when it is further along."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    if progress is not None:
        t = max(t, min(1.0, progress))
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))


def _rng_state(gen: torch.Generator) -> dict:
    return {"gen": gen.get_state(), "torch": torch.get_rng_state()}


def _save(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, map_location="cpu") -> dict:
    return torch.load(path, map_location=map_location, weights_only=False)


def _log(out_dir: Path, rec: dict, echo: bool) -> None:
    with open(out_dir / "log.jsonl", "a") as f:
        f.write(json.dumps(rec) + "\n")
    if echo:
        print(" ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()),
              file=sys.stderr, flush=True)


class _Budget:
    """Step/time bound; with a time limit and no step count, the step count
    is fixed from the speed measured over steps ``skip``..``skip + calib``
    (after the warm-up of cudnn/allocators)."""

    def __init__(self, steps: Optional[int], minutes: Optional[float], start_step: int, calib: int = 100,
                 skip: int = 30):
        if steps is None and minutes is None:
            raise ValueError("give steps and/or minutes")
        self.steps, self.deadline = steps, None if minutes is None else time.time() + 60 * minutes
        self.start_step, self.calib, self.skip, self.t_skip = start_step, calib, skip, None
        self.t_start = time.time()

    def total(self, step: int) -> int:
        if self.steps is None:
            k = step - self.start_step
            if k == self.skip:
                self.t_skip = time.time()
            elif k == self.skip + self.calib and self.t_skip is not None:
                rate = self.calib / max(1e-6, time.time() - self.t_skip)
                self.steps = step + int(rate * max(0.0, self.deadline - time.time()) * 0.97)
        return self.steps if self.steps is not None else 10 ** 9

    def done(self, step: int) -> bool:
        if self.steps is not None and step >= self.steps:
            return True
        return self.deadline is not None and time.time() >= self.deadline

    def progress(self, step: int) -> Optional[float]:
        """Fraction of the time budget used (None without one): the schedule
        follows whichever of steps and time is further along, so a run that
        slows down (shared device) still anneals before its deadline."""
        if self.deadline is None:
            return None
        span = max(1e-6, self.deadline - self.t_start)
        return (time.time() - self.t_start) / span


class _Dist:
    """The ``torchrun`` process group (``WORLD_SIZE > 1``), or one process."""

    def __init__(self, dev: torch.device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.owned = False
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
                self.owned = True
            self.world, self.rank = dist.get_world_size(), dist.get_rank()

    @property
    def on(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: torch.nn.Module, dev: torch.device) -> torch.nn.Module:
        if not self.on:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    def local_batch(self, batch: int) -> int:
        if batch % self.world:
            raise ValueError(f"batch {batch} is not a multiple of the {self.world} processes")
        return batch // self.world

    def seed(self, seed: int) -> int:
        return seed + 7919 * self.rank

    def sync_budget(self, budget: "_Budget", step: int) -> tuple[bool, int, Optional[float]]:
        """(done, total steps, time progress), from rank 0 when there is a time budget."""
        done, total, prog = budget.done(step), budget.total(step), budget.progress(step)
        if self.on and budget.deadline is not None:
            import torch.distributed as dist

            t = torch.tensor([float(done), float(total), -1.0 if prog is None else prog], dtype=torch.float64)
            if dist.get_backend() == "nccl":
                t = t.cuda()
            dist.broadcast(t, 0)
            t = t.cpu()
            done, total = bool(t[0] > 0.5), int(t[1])
            prog = None if t[2] < 0 else float(t[2])
        return done, total, prog

    def gather(self, obj) -> list:
        if not self.on:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.owned:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
            self.owned = False




def _resume_progress(ck: dict, gen, dist, seed: int, steps, minutes, out_dir: Path, echo: bool):
    """Training progress from a checkpoint (every trainer's resume): step,
    history, seconds trained, the original training config and the step
    budget (the checkpoint's total when none is given); restores the RNGs."""
    _restore_rng(ck, gen, dist, seed)
    if steps is None and minutes is None:
        steps = ck.get("total_steps")
    if dist.main:
        _log(out_dir, {"event": "resume", "step": ck["step"]}, echo)
    return ck["step"], ck["history"], ck.get("train_seconds", 0.0), ck["train_config"], steps

def _optimise(opt, loss, model) -> None:
    """One optimiser step with gradient-norm clipping (every trainer)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


def _record_eval(evaluate, history: list, step: int, out_dir: Path, echo: bool, **extra) -> None:
    """Runs a validation pass, appends it to the history and logs it."""
    ev = evaluate()
    history.append({"step": step, **extra, **ev})
    _log(out_dir, {"step": step, **extra, **ev}, echo)


def _finish(bar, evaluate, history: list, step: int, out_dir: Path, echo: bool, checkpoint, dist, budget, total):
    """End of a training run: the final validation (main rank), the final
    checkpoint (returned) and the process group closed."""
    bar.close()
    if evaluate is not None and dist.main:
        _record_eval(evaluate, history, step, out_dir, echo, final=True)
    ck = checkpoint(total if dist.on and budget.deadline is not None else budget.total(step), final=True)
    dist.close()
    return ck

def _param_checksum(model: torch.nn.Module) -> float:
    return float(sum(p.detach().double().sum().item() for p in model.parameters()))


def _restore_rng(ck: dict, gen: torch.Generator, dist: "_Dist", seed: int) -> None:
    """Each rank's generator from the checkpoint (same world size), else rank 0's
    state for rank 0 and a fresh seed for the others."""
    ranks = ck.get("rng_ranks")
    if ranks is not None and len(ranks) == dist.world:
        st = ranks[dist.rank]
    elif dist.main:
        st = ck["rng"]
    else:
        gen.manual_seed(dist.seed(seed) + int(ck["step"]))
        return
    gen.set_state(st["gen"])
    torch.set_rng_state(st["torch"])


def _device(device: str) -> torch.device:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and world > 1:  # torchrun: one GPU per process
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    d = torch.device(device)
    if d.type == "cuda":
        if d.index is not None:
            torch.cuda.set_device(d)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return d


# ---------------------------------------------------------------------------
# CNNIF

@torch.no_grad()
def evaluate_cnnif_crops(model, data: CnnifData, max_samples: int = 256, batch: int = 8) -> dict:
    """Mean PSNR-Y (and Cb/Cr) gain of ``model`` on whole crops of ``data``,
    after rounding/clipping like the codec; overall and per QP."""
    model.eval()
    n = min(len(data), max_samples)
    gains: Dict[str, List[float]] = {"y": [], "cb": [], "cr": []}
    qps: List[float] = []
    for s in range(0, n, batch):
        sl = slice(s, min(n, s + batch))
        rec = [p[sl].float().unsqueeze(1) for p in data.rec]
        org = [p[sl].float().unsqueeze(1) for p in data.org]
        qp = data.qp[sl]
        out = model(rec[0], rec[1], rec[2], qp)
        for k, o, r, g in zip(("y", "cb", "cr"), out, rec, org):
            o = torch.clamp(torch.floor(o + 0.5), 0, 1023)
            gains[k] += (psnr(o, g) - psnr(r, g)).tolist()
        qps += qp.tolist()
    model.train()
    res = {f"gain_{k}": float(np.mean(v)) for k, v in gains.items()}
    q = np.array(qps)
    for lo, hi in ((27, 30), (31, 34), (35, 38), (39, 42)):
        m = (q >= lo) & (q <= hi)
        if m.any():
            res[f"gain_y_qp{lo}-{hi}"] = float(np.mean(np.array(gains["y"])[m]))
    res["n"] = n
    return res


def train_cnnif(data_paths: Sequence, out_dir, *, preset: str = "cnnif_s", layout: str = "rgb",
                qp_input: bool = True, steps: Optional[int] = None, minutes: Optional[float] = None,
                batch: int = 16, patch: int = 128, lr: float = 1e-3, l1_fraction: float = 0.5,
                warmup: int = 200, device: str = "auto", val_every: int = 10, eval_every: int = 1000,
                ckpt_every: int = 500, seed: int = 0, resume: bool = False, progress: bool = True,
                log_every: int = 100, echo: bool = True) -> dict:
    """Train a CNNIF preset; returns the final checkpoint dict (also in ``out_dir/last.pt``).

    Under ``torchrun`` the processes train one model together (DDP; see the
    module docstring); ``batch`` is then the global batch."""
    dev = _device(device)
    dist = _Dist(dev)
    echo = echo and dist.main
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "last.pt"
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(dist.seed(seed))
    model = CNNIFilter(preset, layout=layout, qp_input=qp_input).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    step, history, train_seconds = 0, [], 0.0
    cfg = {"preset": preset, "layout": layout, "qp_input": qp_input, "batch": batch, "patch": patch,
           "lr": lr, "l1_fraction": l1_fraction, "warmup": warmup, "seed": seed,
           "data": [str(p) for p in data_paths], "val_every": val_every}
    if resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        if ck.get("kind") != "cnnif":
            raise ValueError(f"{ckpt_path} is not a CNNIF checkpoint")
        model = CNNIFilter(**{k: ck["model_config"][k] for k in ("preset", "layout", "qp_input")}).to(dev)
        model.load_state_dict(ck["model"])
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        opt.load_state_dict(ck["optimizer"])
        step, history, train_seconds, cfg, steps = _resume_progress(ck, gen, dist, seed, steps, minutes, out_dir,
                                                                     echo)
    net, model = model, dist.wrap(model, dev)
    local_batch = dist.local_batch(batch)
    data = CnnifData(data_paths, dev, "train", val_every)
    val = CnnifData(data_paths, dev, "val", val_every) if val_every > 0 else None
    if len(val or []) == 0:
        val = None
    budget = _Budget(steps, minutes, step)
    model.train()
    t_start = time.time()

    def checkpoint(total: int, final: bool = False) -> dict:
        rngs = dist.gather(_rng_state(gen))  # collective: every rank calls checkpoint()
        ck = {"kind": "cnnif", "model_config": net.config(), "model": net.state_dict(),
              "optimizer": opt.state_dict(), "step": step, "total_steps": total, "history": history,
              "rng": rngs[0], "train_config": cfg,
              "train_seconds": train_seconds + time.time() - t_start,
              "data_samples": len(data), "device": str(dev), "torch": torch.__version__}
        if dist.on:
            ck["rng_ranks"] = rngs
            ck["ddp"] = {"world_size": dist.world, "batch_per_rank": local_batch,
                         "param_checksums": dist.gather(_param_checksum(net)) if final else None}
        if dist.main:
            _save(ckpt_path, ck)
        return ck

    bar = _Progress(steps or 0, f"train {preset}", progress and steps is not None and not echo and dist.main)
    run_loss = 0.0
    ck = None
    while True:
        done, total, prog = dist.sync_budget(budget, step)
        if done:
            break
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, total, lr, warmup, prog)
        rec, org, qp = data.sample(local_batch, patch, gen)
        out = model(rec[0], rec[1], rec[2], qp)
        use_l1 = step < l1_fraction * total and (prog is None or prog < l1_fraction)
        num = 0.0
        den = 0
        for o, g in zip(out, org):
            d = (o - g) / 1023.0
            num = num + (d.abs().sum() if use_l1 else (d * d).sum())
            den += d.numel()
        loss = num / den
        _optimise(opt, loss, model)
        step += 1
        run_loss += float(loss.detach()) if step % log_every == 0 or step < 3 else 0.0
        bar.update()
        if step % log_every == 0 and dist.main:
            _log(out_dir, {"step": step, "total": total, "loss": float(loss.detach()),
                           "kind": "l1" if use_l1 else "mse", "lr": opt.param_groups[0]["lr"],
                           "sec": round(time.time() - t_start, 1)}, echo)
        if val is not None and eval_every and step % eval_every == 0 and dist.main:
            _record_eval(lambda: evaluate_cnnif_crops(net, val, max_samples=64), history, step, out_dir, echo)
        if ckpt_every and step % ckpt_every == 0:
            ck = checkpoint(total)
    return _finish(bar, (lambda: evaluate_cnnif_crops(net, val)) if val is not None else None, history, step, out_dir, echo, checkpoint, dist,
                   budget, total)


def cnnif_from_checkpoint(ck) -> CNNIFilter:
    if not isinstance(ck, dict):
        ck = load_checkpoint(ck)
    mc = ck["model_config"]
    m = CNNIFilter(mc["preset"], layout=mc["layout"], qp_input=mc["qp_input"], num_units=mc["num_units"],
                   channels=mc["channels"], convs_per_unit=mc["convs_per_unit"], tile=mc["tile"])
    m.load_state_dict(ck["model"])
    return m.eval()


# ---------------------------------------------------------------------------
# CNNMC

@torch.no_grad()
def evaluate_cnnmc(model, data: CnnmcData, max_ctus: int = 100000, batch: int = 32) -> dict:
    """Accuracy of the CNNMC list vs the standard 8.4.2 list on ``data``.

    Per luma CU (from ``cu_log2``; per 4x4 unit when the data has no CU
    sizes): ``top1`` = the highest-scoring mode is the chosen one, ``top6``
    = the chosen mode is in the 6-entry CNNMC list (planar + 5), ``std_top6``
    = in the standard list, ``std_top1`` = it is the standard list's entry 0
    or 1 (planar or the first neighbour candidate), ``hybrid{1,2}_top6`` =
    in the list planar + the first 1/2 standard candidates + CNN ranking,
    ``*_mpm_idx_bins`` = mean mpm_idx bypass bins (truncated rice, cMax 4)
    of the non-planar MPM hits with the standard order and with the
    standard candidates reordered by the CNN scores."""
    from ..models.cnnmc import CNNMCExport

    was_training = model.training
    model.eval()
    # a module that already returns the quantised probabilities (the integer
    # model, pyvtm.models.intnet.IntCNNMC) is used as it is
    exp = model if getattr(model, "returns_quantised", False) else CNNMCExport(model).eval()
    n = min(len(data), max_ctus)
    hit1 = hit6 = std6 = std1 = hyb1 = hyb2 = total = 0
    std_bits = reo_bits = n_hit_np = 0
    dev = data.device
    for s in range(0, n, batch):
        chunk = data.ctus[s:min(n, s + batch)]
        items = torch.tensor(chunk, dtype=torch.long, device=dev)
        recon, modes, av, target = data.gather(items)
        q = exp(recon, modes, av).cpu().numpy()
        for b, (pic, cy, cx) in enumerate(chunk):
            mm = data.modes_np[pic]
            cu = data.cu_log2[pic]
            for uy in range(32):
                for ux in range(32):
                    gy, gx = cy * 32 + uy, cx * 32 + ux
                    l2 = int(cu[gy, gx]) if cu[gy, gx] != 255 else 2
                    sz = 1 << l2
                    if (gx * 4) % sz or (gy * 4) % sz:
                        continue  # not the top-left unit of its CU
                    mode = int(mm[gy, gx])
                    lst = mpm_list_from_quantised(q[b], ux * 4, uy * 4, l2, l2)
                    nu = max(1, sz >> 2)
                    score = q[b][:, uy:uy + nu, ux:ux + nu].astype(np.int64).sum(axis=(1, 2))
                    hit1 += int(int(np.argmax(score)) == mode)
                    hit6 += int(mode in lst)
                    # standard list: left (x-1, y+h-1), above (x+w-1, y-1) in the CTU row
                    ly, lx = gy + nu - 1, gx - 1
                    ca = int(mm[ly, lx]) if lx >= 0 else 0
                    ay, ax = gy - 1, gx + nu - 1
                    cb_ = int(mm[ay, ax]) if ay >= 0 and (gy * 4) % 128 != 0 else 0
                    sl = standard_mpm_list(ca, cb_)
                    std6 += int(mode in sl)
                    std1 += int(mode in sl[:2])
                    if mode in sl[1:]:  # mpm_idx bypass bins (TR, cMax 4): standard vs CNN-reordered
                        rank = {m: r for r, m in enumerate(cnn_ranking(q[b], ux * 4, uy * 4, l2, l2))}
                        re = [0] + sorted(sl[1:], key=lambda m: rank[m])
                        std_bits += min(4, sl.index(mode))
                        reo_bits += min(4, re.index(mode))
                        n_hit_np += 1
                    hyb1 += int(mode in hybrid_mpm_list(q[b], ux * 4, uy * 4, l2, l2, sl, 1))
                    hyb2 += int(mode in hybrid_mpm_list(q[b], ux * 4, uy * 4, l2, l2, sl, 2))
                    total += 1
    if was_training:
        model.train()
    return {"top1": hit1 / max(1, total), "top6": hit6 / max(1, total), "std_top6": std6 / max(1, total),
            "std_top2": std1 / max(1, total), "hybrid1_top6": hyb1 / max(1, total),
            "hybrid2_top6": hyb2 / max(1, total),
            "std_mpm_idx_bins": std_bits / max(1, n_hit_np), "reordered_mpm_idx_bins": reo_bits / max(1, n_hit_np),
            "cus": total,
            "unit": "cu" if (data.cu_log2 != 255).any() else "4x4"}


def train_cnnmc(data_paths: Sequence, out_dir, *, steps: Optional[int] = None, minutes: Optional[float] = None,
                batch: int = 32, lr: float = 2e-3, warmup: int = 200, device: str = "auto",
                val_every: int = 10, eval_every: int = 2000, ckpt_every: int = 500, seed: int = 0,
                resume: bool = False, progress: bool = True, log_every: int = 100, echo: bool = True) -> dict:
    """Train the CNNMC preset; returns the final checkpoint dict (``out_dir/last.pt``).

    Under ``torchrun``: DDP, as :func:`train_cnnif`."""
    dev = _device(device)
    dist = _Dist(dev)
    echo = echo and dist.main
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "last.pt"
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(dist.seed(seed))
    model = CNNMCNet().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    step, history, train_seconds = 0, [], 0.0
    cfg = {"batch": batch, "lr": lr, "warmup": warmup, "seed": seed, "data": [str(p) for p in data_paths],
           "val_every": val_every}
    if resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        if ck.get("kind") != "cnnmc":
            raise ValueError(f"{ckpt_path} is not a CNNMC checkpoint")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, history, train_seconds, cfg, steps = _resume_progress(ck, gen, dist, seed, steps, minutes, out_dir,
                                                                     echo)
    net, model = model, dist.wrap(model, dev)
    local_batch = dist.local_batch(batch)
    data = CnnmcData(data_paths, dev, "train", val_every)
    val = CnnmcData(data_paths, dev, "val", val_every) if val_every > 0 else None
    if val is not None and len(val) == 0:
        val = None
    budget = _Budget(steps, minutes, step)
    model.train()
    t_start = time.time()

    def checkpoint(total: int, final: bool = False) -> dict:
        rngs = dist.gather(_rng_state(gen))  # collective: every rank calls checkpoint()
        ck = {"kind": "cnnmc", "model_config": net.config(), "model": net.state_dict(),
              "optimizer": opt.state_dict(), "step": step, "total_steps": total, "history": history,
              "rng": rngs[0], "train_config": cfg, "mode_source": sorted(data.mode_sources),
              "train_seconds": train_seconds + time.time() - t_start, "data_ctus": len(data),
              "device": str(dev), "torch": torch.__version__}
        if dist.on:
            ck["rng_ranks"] = rngs
            ck["ddp"] = {"world_size": dist.world, "batch_per_rank": local_batch,
                         "param_checksums": dist.gather(_param_checksum(net)) if final else None}
        if dist.main:
            _save(ckpt_path, ck)
        return ck

    bar = _Progress(steps or 0, "train cnnmc", progress and steps is not None and not echo and dist.main)
    while True:
        done, total, prog = dist.sync_budget(budget, step)
        if done:
            break
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, total, lr, warmup, prog)
        recon, modes, av, target = data.sample(local_batch, gen)
        logits = model(recon, modes, av)
        loss = F.cross_entropy(logits, torch.where(target > 66, torch.full_like(target, -100), target),
                               ignore_index=-100)
        _optimise(opt, loss, model)
        step += 1
        bar.update()
        if step % log_every == 0 and dist.main:
            _log(out_dir, {"step": step, "total": total, "loss": float(loss.detach()),
                           "lr": opt.param_groups[0]["lr"], "sec": round(time.time() - t_start, 1)}, echo)
        if val is not None and eval_every and step % eval_every == 0 and dist.main:
            _record_eval(lambda: evaluate_cnnmc(net, val, max_ctus=256), history, step, out_dir, echo)
        if ckpt_every and step % ckpt_every == 0:
            checkpoint(total)
    return _finish(bar, (lambda: evaluate_cnnmc(net, val)) if val is not None else None, history, step, out_dir, echo, checkpoint, dist,
                   budget, total)


def cnnmc_from_checkpoint(ck) -> CNNMCNet:
    if not isinstance(ck, dict):
        ck = load_checkpoint(ck)
    mc = ck["model_config"]
    m = CNNMCNet(mc["preset"], widths=mc["widths"], embed=mc["embed"])
    m.load_state_dict(ck["model"])
    return m.eval()


# ---------------------------------------------------------------------------
# MSGDN post-filter (and MSGDN-GAN)

class MsgdnData:
    """(original RGB, decoded RGB, qp) samples of CNNIF data sets built with
    ``--rgb`` (``orig_rgb``), as uint8 tensors (N, 3, H, W) on ``device``.
    The decoded RGB is :func:`pyvtm.ycbcr_to_rgb` of the reconstruction: what
    the post-filter sees at run time."""

    def __init__(self, paths: Sequence, device="cpu", split: str = "all", val_every: int = 10):
        from ..colour import ycbcr_to_rgb

        recs, orgs, qps = [], [], []
        self.crop = None
        for p in paths:
            a, meta = load_dataset(p)
            if meta.get("kind") != "cnnif-dataset" or "orig_rgb" not in a:
                raise ValueError(f"{p}: not a post-filter data set (build it with "
                                 f"`pyvtm dataset cnnif --rgb ...`)")
            val = _split_mask(a["crop_image"], val_every)[a["crop_index"]]
            keep = {"all": np.ones_like(val), "train": ~val, "val": val}[split]
            for i in np.flatnonzero(keep):
                recs.append(ycbcr_to_rgb(a["rec_y"][i], a["rec_cb"][i], a["rec_cr"][i]))
                orgs.append(a["orig_rgb"][a["crop_index"][i]])
                qps.append(float(a["qp"][i]))
            if self.crop is None:
                self.crop = a["orig_rgb"].shape[1:3]
            elif self.crop != a["orig_rgb"].shape[1:3]:
                raise ValueError("all post-filter data sets must have the same crop size")
        self.device = torch.device(device)
        self.n = len(qps)

        def t(lst):
            if not lst:
                return torch.zeros((0, 3, 1, 1), dtype=torch.uint8, device=self.device)
            return torch.from_numpy(np.stack(lst)).permute(0, 3, 1, 2).contiguous().to(self.device)

        self.rec, self.org = t(recs), t(orgs)
        self.qp = torch.tensor(qps, dtype=torch.float32, device=self.device)

    def __len__(self) -> int:
        return self.n

    def sample(self, batch: int, patch: int, gen: torch.Generator):
        """Random ``patch`` x ``patch`` patches with one random flip /
        transposition per batch: rec, org float (B,3,p,p) in 0..255, qp (B,)."""
        H, W = self.crop
        if patch > H or patch > W:
            raise ValueError(f"patch must be at most the crop size {self.crop}")
        dev = self.device
        idx = torch.randint(0, self.n, (batch,), generator=gen).to(dev)
        py = torch.randint(0, H - patch + 1, (batch,), generator=gen).to(dev)
        px = torch.randint(0, W - patch + 1, (batch,), generator=gen).to(dev)
        aug = int(torch.randint(0, 8, (1,), generator=gen).item())
        ar = torch.arange(patch, device=dev)
        yy, xx = py[:, None] + ar, px[:, None] + ar
        out = []
        for src in (self.rec, self.org):
            v = src[idx[:, None, None, None], torch.arange(3, device=dev)[None, :, None, None],
                    yy[:, None, :, None], xx[:, None, None, :]].float()
            if aug & 1:
                v = v.flip(3)
            if aug & 2:
                v = v.flip(2)
            if aug & 4:
                v = v.transpose(2, 3)
            out.append(v.contiguous())
        return out[0], out[1], self.qp[idx]


@torch.no_grad()
def evaluate_msgdn_crops(model, data: MsgdnData, max_samples: int = 64, batch: int = 4) -> dict:
    """Mean PSNR-RGB (peak 255) gain of the rounded filter output over the
    decoded RGB on whole crops of ``data``; overall and per QP range."""
    was = model.training
    model.eval()
    n = min(len(data), max_samples)
    gains: List[float] = []
    for s in range(0, n, batch):
        sl = slice(s, min(n, s + batch))
        rec, org = data.rec[sl].float(), data.org[sl].float()
        out = torch.clamp(torch.floor(model(rec, data.qp[sl]) + 0.5), 0, 255)
        gains += (psnr(out, org, 255.0) - psnr(rec, org, 255.0)).tolist()
    if was:
        model.train()
    q = data.qp[:n].cpu().numpy()
    res = {"gain_rgb": float(np.mean(gains)) if gains else 0.0, "n": n}
    for lo, hi in ((27, 33), (34, 39), (40, 45), (46, 51)):
        m = (q >= lo) & (q <= hi)
        if m.any():
            res[f"gain_rgb_qp{lo}-{hi}"] = float(np.mean(np.array(gains)[m]))
    return res


def msgdn_from_checkpoint(ck):
    """The generator (:class:`MSGDNFilter`, eval mode) of an MSGDN / MSGDN-GAN checkpoint."""
    from ..models.msgdn import MSGDNFilter

    if not isinstance(ck, dict):
        ck = load_checkpoint(ck)
    mc = ck["model_config"]
    m = MSGDNFilter(mc["preset"], qp_input=mc["qp_input"], channels=mc["channels"], growth=mc["growth"],
                    rdbs=mc["rdbs"], layers=mc["layers"], window=mc["window"])
    m.load_state_dict(ck["model"])
    return m.eval()


def train_msgdn(data_paths: Sequence, out_dir, *, preset: str = "msgdn_s", gan: bool = False,
                init=None, vgg=None, vgg_module=None, disc_base: int = 64, qp_input: bool = True,
                model_config: Optional[dict] = None,
                steps: Optional[int] = None, minutes: Optional[float] = None, batch: int = 16,
                patch: int = 96, lr: Optional[float] = None, l1_fraction: float = 0.6, warmup: int = 100,
                w_adv: float = 0.01, w_perc: float = 1e-4, device: str = "auto", val_every: int = 10,
                eval_every: int = 500, ckpt_every: int = 200, seed: int = 0, resume: bool = False,
                progress: bool = True, log_every: int = 50, echo: bool = True) -> dict:
    """Train the MSGDN post-filter; returns the final checkpoint (``out_dir/last.pt``).

    ``gan=False`` (``pyvtm train msgdn``): L1 loss for the first
    ``l1_fraction`` of the run, then MSE (on RGB / 255), Adam, warm-up +
    cosine decay. ``gan=True`` (``pyvtm train msgdn_gan``): fine-tune the
    generator from ``init`` (an MSGDN checkpoint, normally the MSE one) with
    ``L1 + w_adv * L_adv + w_perc * L_perceptual`` (0.01 and 1e-4), L_adv the
    symmetric relativistic average loss (:func:`ragan_g_loss`) against a
    :class:`~pyvtm.models.msgdn.Discriminator` trained with
    :func:`ragan_d_loss`; L_perceptual the MSE of VGG-19 conv5_4 features
    (before ReLU) with the weights of ``vgg`` (a torchvision state_dict
    file). Without ``vgg`` (and no ``vgg_module``) the perceptual term is left
    out, which the log says (``"perceptual": "off"``). Checkpoints, resume
    and ``torchrun`` DDP as :func:`train_cnnif`.
    """
    from ..models.msgdn import Discriminator, MSGDNFilter, load_vgg19_features, ragan_d_loss, ragan_g_loss

    kind = "msgdn_gan" if gan else "msgdn"
    dev = _device(device)
    dist = _Dist(dev)
    echo = echo and dist.main
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "last.pt"
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(dist.seed(seed))
    lr = lr if lr is not None else (1e-4 if gan else 1e-3)
    model = MSGDNFilter(preset, qp_input=qp_input, **(model_config or {}))
    init_info = None
    if init is not None:
        ick = load_checkpoint(init)
        if ick.get("kind") not in ("msgdn", "msgdn_gan"):
            raise ValueError(f"{init}: not an MSGDN checkpoint (kind {ick.get('kind')!r})")
        model = msgdn_from_checkpoint(ick).train()
        preset = model.preset
        init_info = {"path": str(init), "kind": ick.get("kind"), "step": ick.get("step")}
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    disc = d_opt = None
    perceptual = None
    if gan:
        disc = Discriminator(disc_base).to(dev)
        d_opt = torch.optim.Adam(disc.parameters(), lr=lr)
        if vgg_module is not None:
            perceptual = vgg_module.to(dev).eval()
        elif vgg is not None:
            perceptual = load_vgg19_features(vgg).to(dev).eval()
    step, history, train_seconds = 0, [], 0.0
    cfg = {"preset": preset, "gan": gan, "qp_input": qp_input, "batch": batch, "patch": patch, "lr": lr,
           "l1_fraction": l1_fraction, "warmup": warmup, "seed": seed, "data": [str(p) for p in data_paths],
           "val_every": val_every, "init": init_info, "w_adv": w_adv, "w_perc": w_perc if perceptual else 0.0,
           "vgg": str(vgg) if vgg is not None else ("module" if vgg_module is not None else None)}
    if resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        if ck.get("kind") != kind:
            raise ValueError(f"{ckpt_path} is not a {kind} checkpoint (kind {ck.get('kind')!r})")
        model = msgdn_from_checkpoint(ck).train().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        opt.load_state_dict(ck["optimizer"])
        if gan:
            disc.load_state_dict(ck["discriminator"])
            d_opt.load_state_dict(ck["d_optimizer"])
        step, history, train_seconds, cfg, steps = _resume_progress(ck, gen, dist, seed, steps, minutes, out_dir,
                                                                     echo)
    if dist.main and step == 0:
        _log(out_dir, {"event": "start", "kind": kind, "preset": preset, "parameters": model.parameter_count(),
                       "kmac_per_pixel": round(model.kmac_per_pixel(), 2),
                       **({"perceptual": "on (VGG-19 conv5_4)" if perceptual is not None else
                           "off: no VGG-19 weights given (--vgg FILE); training with L1 + adversarial only"}
                          if gan else {})}, echo)
    net, model = model, dist.wrap(model, dev)
    dnet = disc
    if gan:
        disc = dist.wrap(disc, dev)
    local_batch = dist.local_batch(batch)
    data = MsgdnData(data_paths, dev, "train", val_every)
    val = MsgdnData(data_paths, dev, "val", val_every) if val_every > 0 else None
    if val is not None and len(val) == 0:
        val = None
    budget = _Budget(steps, minutes, step, calib=20, skip=5)
    model.train()
    t_start = time.time()

    def checkpoint(total: int, final: bool = False) -> dict:
        rngs = dist.gather(_rng_state(gen))
        ck = {"kind": kind, "model_config": net.config(), "model": net.state_dict(),
              "optimizer": opt.state_dict(), "step": step, "total_steps": total, "history": history,
              "rng": rngs[0], "train_config": cfg, "train_seconds": train_seconds + time.time() - t_start,
              "data_samples": len(data), "device": str(dev), "torch": torch.__version__}
        if gan:
            ck["discriminator"] = dnet.state_dict()
            ck["d_optimizer"] = d_opt.state_dict()
        if dist.on:
            ck["rng_ranks"] = rngs
            ck["ddp"] = {"world_size": dist.world, "batch_per_rank": local_batch,
                         "param_checksums": dist.gather(_param_checksum(net)) if final else None}
        if dist.main:
            _save(ckpt_path, ck)
        return ck

    bar = _Progress(steps or 0, f"train {kind} {preset}", progress and steps is not None and not echo and dist.main)
    while True:
        done, total, prog = dist.sync_budget(budget, step)
        if done:
            break
        for grp in opt.param_groups:
            grp["lr"] = _lr_at(step, total, lr, warmup, prog)
        rec, org, qp = data.sample(local_batch, patch, gen)
        out = model(rec, qp)
        d = (out - org) / 255.0
        rec_log: Dict[str, float] = {}
        if not gan:
            use_l1 = step < l1_fraction * total and (prog is None or prog < l1_fraction)
            loss = d.abs().mean() if use_l1 else (d * d).mean()
            rec_log["kind"] = "l1" if use_l1 else "mse"
        else:
            fake, real = out / 255.0, org / 255.0
            # discriminator step (generator output detached)
            for grp in d_opt.param_groups:
                grp["lr"] = opt.param_groups[0]["lr"]
            d_loss = ragan_d_loss(disc(real), disc(fake.detach()))
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            l1 = d.abs().mean()
            adv = ragan_g_loss(disc(real).detach(), disc(fake))
            loss = l1 + w_adv * adv
            rec_log.update({"l1": float(l1.detach()), "adv": float(adv.detach()), "d_loss": float(d_loss.detach())})
            if perceptual is not None:
                perc = F.mse_loss(perceptual(fake), perceptual(real).detach())
                loss = loss + w_perc * perc
                rec_log["perc"] = float(perc.detach())
        _optimise(opt, loss, model)
        step += 1
        bar.update()
        if (step % log_every == 0 or step == 1) and dist.main:
            _log(out_dir, {"step": step, "total": total, "loss": float(loss.detach()), **rec_log,
                           "lr": opt.param_groups[0]["lr"], "sec": round(time.time() - t_start, 1)}, echo)
        if val is not None and eval_every and step % eval_every == 0 and dist.main:
            _record_eval(lambda: evaluate_msgdn_crops(net, val, max_samples=16), history, step, out_dir, echo)
        if ckpt_every and step % ckpt_every == 0:
            checkpoint(total)
    return _finish(bar, (lambda: evaluate_msgdn_crops(net, val)) if val is not None else None, history, step, out_dir, echo, checkpoint, dist,
                   budget, total)


# ---------------------------------------------------------------------------
# command line (used by pyvtm.cli)

def add_train_arguments(p) -> None:
    p.add_argument("tool", choices=["cnnif", "cnnmc", "msgdn", "msgdn_gan"],
                   help="which network to train (msgdn_gan: GAN fine-tune of an msgdn checkpoint, --init)")
    p.add_argument("data", nargs="+", help="data set files from pyvtm.utils.dataset")
    p.add_argument("-o", "--out", required=True, help="output folder (checkpoint last.pt, log.jsonl)")
    p.add_argument("--preset", default=None, help="cnnif | cnnif_s (cnnif tool; default cnnif_s); "
                   "msgdn | msgdn_s (msgdn tools; default msgdn_s)")
    p.add_argument("--layout", default="rgb", choices=["rgb", "yuv444", "yuv420"])
    p.add_argument("--no-qp-input", action="store_true", help="CNNIF without the QP plane")
    p.add_argument("--steps", type=int)
    p.add_argument("--minutes", type=float)
    p.add_argument("--batch", type=int)
    p.add_argument("--patch", type=int, default=None, help="patch size (default 128; msgdn 96)")
    p.add_argument("--init", help="msgdn/msgdn_gan: start from this checkpoint (msgdn_gan: the MSE model)")
    p.add_argument("--vgg", help="msgdn_gan: VGG-19 weights (torchvision state_dict file, e.g. vgg19-dcbb9e9d.pth) "
                                 "for the perceptual loss; without it the perceptual term is off")
    p.add_argument("--l1-fraction", type=float, default=None, help="share of the steps trained with L1 before MSE")
    p.add_argument("--lr", type=float)
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--val-every", type=int, default=10, help="every n-th image is held out (0: none)")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")


def run_train_command(a) -> int:
    if a.steps is None and a.minutes is None and not a.resume:
        raise ValueError("give --steps and/or --minutes")
    if a.tool in ("msgdn", "msgdn_gan"):
        gan = a.tool == "msgdn_gan"
        if gan and not a.init and not a.resume:
            print("warning: msgdn_gan without --init trains the generator from scratch "
                  "(normally it fine-tunes the MSE model)", file=sys.stderr)
        ck = train_msgdn(a.data, a.out, preset=a.preset or "msgdn_s", gan=gan, init=a.init, vgg=a.vgg,
                         qp_input=not a.no_qp_input, steps=a.steps, minutes=a.minutes, batch=a.batch or 16,
                         patch=a.patch or 96, lr=a.lr, device=a.device,
                         l1_fraction=a.l1_fraction if a.l1_fraction is not None else 0.6,
                         val_every=a.val_every, eval_every=a.eval_every, ckpt_every=a.ckpt_every,
                         seed=a.seed, resume=a.resume)
    elif a.tool == "cnnif":
        ck = train_cnnif(a.data, a.out, preset=a.preset or "cnnif_s", layout=a.layout,
                         qp_input=not a.no_qp_input, steps=a.steps, minutes=a.minutes,
                         batch=a.batch or 16, patch=a.patch or 128, lr=a.lr or 1e-3, device=a.device,
                         val_every=a.val_every, eval_every=a.eval_every, ckpt_every=a.ckpt_every,
                         seed=a.seed, resume=a.resume)
    else:
        ck = train_cnnmc(a.data, a.out, steps=a.steps, minutes=a.minutes, batch=a.batch or 32,
                         lr=a.lr or 2e-3, device=a.device, val_every=a.val_every,
                         eval_every=a.eval_every, ckpt_every=a.ckpt_every, seed=a.seed, resume=a.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"{a.tool}: {ck['step']} steps, checkpoint {Path(a.out) / 'last.pt'}")
    return 0
