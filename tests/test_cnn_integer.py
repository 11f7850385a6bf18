"""The integer in-loop CNNs (pyvtm.models.intnet): same bits on every CPU.

* The shipped integer models give identical output bits under every
  instruction-set level this CPU can force for PyTorch's kernels
  (ATEN_CPU_CAPABILITY) and oneDNN's (DNNL_MAX_CPU_ISA), with oneDNN on and
  off, 1 and 2 threads, and the bf16-allowing float32 matmul precision.
* A stream encoded with CNNIF + CNNMC under one kernel setting decodes to
  the encoder's picture under others (fresh processes).
* Exactness by construction: the partial-sum bounds stored in the model card
  are below 2^53 and match the weights; a loader that casts every buffer to
  float32 (torch::jit::Module::to, as the C++ runtime does) changes nothing;
  the integer model follows the float one closely.

(The float models do differ across these settings on AVX-512 machines:
benchmarks/bench_cnn_determinism.py shows it; no test depends on it.)
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import pyvtm
from pyvtm import zoo
from pyvtm.models import intnet
from pyvtm.utils.export import load_model
from pyvtm.utils.kernel_settings import env_settings, run_probe

INT_MODELS = {"cnnif": "cnnif_s_int", "cnnmc": "cnnmc_int"}
ROOT = Path(__file__).resolve().parents[1]


def _rgb(kodak_dir, size=256):
    from PIL import Image
    rgb = np.asarray(Image.open(kodak_dir / "kodim23.png").convert("RGB"))
    return np.ascontiguousarray(rgb[100:100 + size, 200:200 + size])


def test_integer_models_are_registered_and_marked():
    for name in INT_MODELS.values():
        meta = zoo.info(name)
        assert meta["arithmetic"] == "integer" and meta["reproducible"] is True
        assert meta["acc_bounds"]["max_bits"] < 53
        assert meta["format"] == "1"


def test_bounds_hold_and_float32_cast_is_harmless(kodak_dir):
    """The stored bounds are the ones of the weights, and casting every
    buffer to float32 (what the C++ loader's module.to(kFloat32) does to a
    TorchScript module) leaves the outputs unchanged."""
    rgb = _rgb(kodak_dir, 64)
    y, cb, cr = (torch.from_numpy(np.asarray(p, np.float32))[None, None] for p in pyvtm.rgb_to_ycbcr(rgb))
    m, meta = zoo.load("cnnif_s_int")
    ref = m(y, cb, cr, torch.tensor([32.0]))
    m2, _ = zoo.load("cnnif_s_int")
    for mod in m2.modules():
        for name, buf in list(mod.named_buffers(recurse=False)):
            mod._c.setattr(name, buf.to(torch.float32))
    assert m2.head.weight.dtype == torch.float32 and m2.tail.bias_hi.dtype == torch.float32
    out = m2(y, cb, cr, torch.tensor([32.0]))
    assert all(torch.equal(a, b) for a, b in zip(ref, out))
    for o in ref:
        assert torch.equal(o, torch.floor(o)) and float(o.min()) >= 0 and float(o.max()) <= 1023


def test_integer_conv_is_exact_in_any_order():
    """An IntConv accumulator equals the int64 reference computed by hand."""
    g = torch.Generator().manual_seed(3)
    w = torch.randint(-127, 128, (5, 7, 3, 3), generator=g)
    b = torch.randint(-(1 << 30), 1 << 30, (5,), generator=g)
    conv = intnet.IntConv(w, b, torch.full((5,), 20000), torch.full((5,), 30), 1, 1, 0, 32767,
                          torch.full((7,), 32767))
    x = torch.randint(-32768, 32768, (1, 7, 9, 11), generator=g)
    acc = conv.accumulate(x.double()).to(torch.int64)
    xp = torch.nn.functional.pad(x, (1, 1, 1, 1))
    ref = torch.zeros(1, 5, 9, 11, dtype=torch.int64) + b.view(1, -1, 1, 1)
    for ky in range(3):
        for kx in range(3):
            ref += torch.einsum("oc,bchw->bohw", w[:, :, ky, kx], xp[:, :, ky:ky + 9, kx:kx + 11])
    assert torch.equal(acc, ref)
    assert conv.acc_bound() < 2 ** 53
    y = conv.requant(acc.double()).to(torch.int64)
    assert torch.equal(y, torch.clamp((ref * 20000 + (1 << 29)) >> 30, 0, 32767))


def test_identical_bits_under_all_kernel_settings(kodak_dir, tmp_path):
    path = tmp_path / "rgb.npy"
    np.save(path, _rgb(kodak_dir))
    models = [str(zoo.path(n)) for n in INT_MODELS.values()]
    res = run_probe(models, str(path), cnnif_crop=64)
    assert len(res) >= 2
    for model in models:
        seen = {tuple(v) for r in res.values() for k, v in r.items() if k.startswith(model + "|")}
        assert len(seen) == 1, (model, res)


_ENCODE = """
import sys, numpy as np, torch
torch.set_num_threads(int(sys.argv[3]))
torch.backends.mkldnn.enabled = sys.argv[4] == "1"
torch.set_float32_matmul_precision(sys.argv[5])
import pyvtm
rgb = np.load(sys.argv[1])
tools = sys.argv[6].split("+")
res = pyvtm.encode(rgb, 32, cnnif="cnnif" in tools, cnnmc="cnnmc" in tools,
                   models={"cnnif": "cnnif_s_int", "cnnmc": "cnnmc_int"})
assert sorted(res.cnn_models) == sorted(tools), res.cnn_models
open(sys.argv[2], "wb").write(res.bitstream)
np.save(sys.argv[2] + ".npy", np.stack([p for p in res.recon_ycbcr[:1]]))
np.save(sys.argv[2] + ".c.npy", np.stack(res.recon_ycbcr[1:]))
"""

_DECODE = """
import sys, hashlib, numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
torch.backends.mkldnn.enabled = sys.argv[3] == "1"
torch.set_float32_matmul_precision(sys.argv[4])
from pyvtm.decoder import decode_picture
d = decode_picture(open(sys.argv[1], "rb").read())
print(hashlib.sha256(b"".join(np.ascontiguousarray(p, np.uint16).tobytes() for p in d.ycbcr)).hexdigest())
"""


def _env(settings: dict) -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA",
                                                        "ONEDNN_MAX_CPU_ISA")}
    e.update(settings)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


@pytest.mark.parametrize("tools", ["cnnif", "cnnmc", "cnnif+cnnmc"])
def test_encode_on_one_setting_decode_on_others(kodak_dir, tmp_path, tools):
    """CNNIF, CNNMC and CNNIF + CNNMC streams: encoded with scalar kernels,
    oneDNN off and 2 threads; decoded natively with oneDNN on (bf16 matmuls
    allowed), with AVX2 kernels, and in this process: always the encoder's
    picture."""
    envs = env_settings()
    rgb_path = tmp_path / "rgb.npy"
    np.save(rgb_path, _rgb(kodak_dir))
    bs = tmp_path / "s.bin"
    subprocess.run([sys.executable, "-c", _ENCODE, str(rgb_path), str(bs), "2", "0", "highest", tools],
                   env=_env(envs.get("scalar-all", envs["aten-default"])), check=True, capture_output=True)
    y = np.load(str(bs) + ".npy")[0]
    c = np.load(str(bs) + ".c.npy")
    want = hashlib.sha256(b"".join(np.ascontiguousarray(p, np.uint16).tobytes() for p in (y, c[0], c[1]))).hexdigest()
    decoders = [("native", "1", "1", "medium"), ("aten-avx2", "1", "1", "highest"), ("dnnl-avx2", "2", "1", "highest")]
    got = set()
    for name, threads, dnnl, prec in decoders:
        if name not in envs:
            continue
        p = subprocess.run([sys.executable, "-c", _DECODE, str(bs), threads, dnnl, prec], env=_env(envs[name]),
                           check=True, capture_output=True, text=True)
        got.add(p.stdout.strip().splitlines()[-1])
    from pyvtm.decoder import decode_picture
    d = decode_picture(bs.read_bytes())
    got.add(hashlib.sha256(b"".join(np.ascontiguousarray(p, np.uint16).tobytes() for p in d.ycbcr)).hexdigest())
    assert got == {want}


def test_integer_cnnif_follows_float(kodak_dir):
    """The integer filter is the float one up to quantisation: most samples
    equal, none far off (the QAT-tuned weights move a little)."""
    rgb = _rgb(kodak_dir, 128)
    planes = [torch.from_numpy(np.asarray(p, np.float32))[None, None] for p in pyvtm.rgb_to_ycbcr(rgb)]
    fi, _ = zoo.load("cnnif_s")
    it, _ = zoo.load("cnnif_s_int")
    with torch.inference_mode():
        a = [torch.clamp(torch.floor(o + 0.5), 0, 1023) for o in fi(*planes, torch.tensor([37.0]))]
        b = it(*planes, torch.tensor([37.0]))
    d = torch.cat([(x - y).abs().flatten() for x, y in zip(a, b)])
    assert float(d.max()) <= 16 and float((d == 0).double().mean()) > 0.3
