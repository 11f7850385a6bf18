"""``pyvtm train`` under torchrun: DDP with two CPU processes (gloo) on a made-up CNNIF set."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pyvtm.utils.dataset import save_dataset
from pyvtm.utils.train import load_checkpoint, train_cnnif

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """A CNNIF data set in the file format of pyvtm.utils.dataset, without encoding anything."""
    rng = np.random.default_rng(0)
    n = 6
    oy = rng.integers(200, 800, (n, 32, 32)).astype(np.uint16)
    oc = rng.integers(400, 600, (n, 16, 16)).astype(np.uint16)
    arrays = {"orig_y": oy, "orig_cb": oc, "orig_cr": oc[::-1].copy(),
              "diff_y": rng.integers(-6, 7, (n, 32, 32)).astype(np.int16),
              "diff_cb": rng.integers(-4, 5, (n, 16, 16)).astype(np.int16),
              "diff_cr": rng.integers(-4, 5, (n, 16, 16)).astype(np.int16),
              "crop_index": np.arange(n, dtype=np.int32), "qp": np.full(n, 37, np.uint8),
              "crop_image": np.arange(n, dtype=np.int32)}
    p = tmp_path_factory.mktemp("ddp") / "set.npz.xz"
    return save_dataset(p, arrays, {"kind": "cnnif-dataset", "version": 1, "crop": 32})


def _torchrun(args, cwd):
    exe = shutil.which("torchrun")
    cmd = ([exe] if exe else [sys.executable, "-m", "torch.distributed.run"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               OMP_NUM_THREADS="1")
    for v in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(v, None)
    return subprocess.run(cmd + ["--standalone", "--nproc-per-node", "2", "-m", "pyvtm", *args], cwd=cwd,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)


# In the slow suite: under heavy machine load one run of `make test` saw rank 1
# abort at exit ("terminate called without an active exception") after a
# complete run; it passes alone. Not yet root-caused (see the issue-14 note).
@pytest.mark.slow
def test_train_ddp_two_cpu_processes_then_resume(tiny_set, tmp_path):
    out = tmp_path / "run"
    common = ["train", "cnnif", str(tiny_set), "-o", str(out), "--batch", "4", "--patch", "16", "--device", "cpu",
              "--val-every", "0", "--ckpt-every", "2", "--seed", "3"]
    p = _torchrun(common + ["--steps", "4"], tmp_path)
    log = p.stdout.decode(errors="replace")
    assert p.returncode == 0, log
    assert log.count("cnnif: 4 steps") == 1  # rank 0 alone reports
    ck = load_checkpoint(out / "last.pt")
    assert ck["step"] == 4 and ck["ddp"]["world_size"] == 2 and ck["ddp"]["batch_per_rank"] == 2
    a, b = ck["ddp"]["param_checksums"]
    assert a == b  # the replicas stayed identical
    r0, r1 = ck["rng_ranks"]
    assert not torch.equal(r0["gen"], r1["gen"])  # each rank drew its own samples
    assert torch.equal(ck["rng"]["gen"], r0["gen"])
    w4 = {k: v.clone() for k, v in ck["model"].items()}

    # resume under torchrun: each rank continues its own stream
    p = _torchrun(common + ["--steps", "6", "--resume"], tmp_path)
    assert p.returncode == 0, p.stdout.decode(errors="replace")
    ck2 = load_checkpoint(out / "last.pt")
    assert ck2["step"] == 6 and ck2["ddp"]["param_checksums"][0] == ck2["ddp"]["param_checksums"][1]
    assert any(not torch.equal(w4[k], ck2["model"][k]) for k in w4)
    ev = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()] if (out / "log.jsonl").exists() else []
    assert {"event": "resume", "step": 4} in ev


def test_single_process_is_unchanged(tiny_set, tmp_path, monkeypatch):
    """Without torchrun nothing distributed happens (no process group, no 'ddp' entry)."""
    for v in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(v, raising=False)
    ck = train_cnnif([tiny_set], tmp_path / "one", steps=2, batch=4, patch=16, device="cpu", val_every=0,
                     ckpt_every=0, echo=False, progress=False)
    assert ck["step"] == 2 and "ddp" not in ck and "rng_ranks" not in ck
    assert not torch.distributed.is_initialized()
