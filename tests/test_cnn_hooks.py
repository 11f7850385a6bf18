"""C++ CNN hooks (patches/cnn_hooks.cpp) against the Python models; determinism."""
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
from pyvtm import _core, zoo
from pyvtm.data import load_sample
from pyvtm.models.cnnif import apply_filter
from pyvtm.models.cnnmc import mpm_list_from_quantised, neighbourhood
from pyvtm.utils.dataset import proxy_modes_gradient

REPO = Path(pyvtm.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def picture():
    """Reconstruction of the shipped sample at QP 37 (264x176)."""
    res = pyvtm.encode(load_sample(), qp=37)
    return res.recon_ycbcr


def _cus(ctu_x, ctu_y):
    cus = []
    for log2 in range(2, 8):
        n = 1 << log2
        for k, (dx, dy) in enumerate(((0, 0), (128 - n, 0), (0, 128 - n), (128 - n, 128 - n), (32, 64))):
            if dx % n == 0 and dy % n == 0:
                cus.append((ctu_x + dx, ctu_y + dy, log2, log2))
    return cus


def _cnnmc_inputs(picture):
    y = picture[0]
    modes = proxy_modes_gradient(y)  # any deterministic mode map will do here
    return neighbourhood(y, modes, 128, 128)


def _python_mpm(module, recon, modes, avail, ctu_x, ctu_y, cus):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            q = module(torch.from_numpy(recon.astype(np.float32))[None],
                       torch.from_numpy(modes.astype(np.int64))[None],
                       torch.from_numpy(avail.astype(np.float32))[None])[0].numpy()
    finally:
        torch.set_num_threads(n)
    return [mpm_list_from_quantised(q, x - ctu_x, y - ctu_y, lw, lh) for x, y, lw, lh in cus]


@pytest.mark.parametrize("name", ["cnnif_s", "cnnif"])
def test_cnnif_hook_matches_python(picture, name):
    y, cb, cr = (np.ascontiguousarray(p[:96, :128]) if i == 0 else np.ascontiguousarray(p[:48, :64])
                 for i, p in enumerate(picture))
    mod, _ = zoo.load(name)
    ref = apply_filter(mod, y, cb, cr, 37)
    out = _core.cnnif_filter(str(zoo.path(name)), y, cb, cr, 37)
    changed = 0
    for o, r, i in zip(out, ref, (y, cb, cr)):
        assert o.dtype == np.uint16 and o.shape == i.shape
        d = np.abs(o.astype(int) - r.astype(int))
        assert d.max() <= 1 and (d > 0).mean() < 1e-3  # float tolerance; in practice identical
        changed += int((o != i).sum())
    assert changed > 0, "the filter changed nothing"


def test_cnnif_hook_odd_size_rejected(tmp_path):
    y = np.full((9, 16), 512, np.uint16)
    c = np.full((5, 8), 512, np.uint16)
    with pytest.raises(ValueError, match="even picture size"):
        _core.cnnif_filter(str(zoo.path("cnnif_s")), y, c, c, 32)


def test_cnnmc_hook_matches_python(picture):
    recon, modes, avail = _cnnmc_inputs(picture)
    assert avail.tolist() == [True, True, True]
    cus = _cus(128, 128)
    mod, _ = zoo.load("cnnmc")
    ref = _python_mpm(mod, recon, modes, avail, 128, 128, cus)
    out = _core.cnnmc_mpm(str(zoo.path("cnnmc")), recon, modes, avail, 128, 128, cus)
    assert out == ref
    for lst in out:
        assert lst[0] == 0 and len(set(lst)) == 6 and all(0 <= m <= 66 for m in lst)
    # partial neighbourhood (first CTU row): above/above-left unavailable
    r2, m2, a2 = neighbourhood(picture[0], proxy_modes_gradient(picture[0]), 128, 0)
    assert a2.tolist() == [False, True, False]
    assert _core.cnnmc_mpm(str(zoo.path("cnnmc")), r2, m2, a2, 128, 0, _cus(128, 0)) == \
        _python_mpm(mod, r2, m2, a2, 128, 0, _cus(128, 0))


_CHILD = r"""
import hashlib, json, sys
import numpy as np
import torch
torch.set_num_threads(int(sys.argv[1]))
import pyvtm
from pyvtm import _core, zoo
d = np.load(sys.argv[2])
lists = _core.cnnmc_mpm(str(zoo.path("cnnmc")), d["recon"], d["modes"], d["avail"], 128, 128,
                        [tuple(int(v) for v in c) for c in d["cus"]])
out = _core.cnnif_filter(str(zoo.path("cnnif_s")), d["y"], d["cb"], d["cr"], 32)
h = hashlib.sha256(b"".join(o.tobytes() for o in out)).hexdigest()
print(json.dumps({"lists": lists, "cnnif": h, "threads": torch.get_num_threads()}))
"""


def test_determinism_across_processes_and_threads(picture, tmp_path):
    recon, modes, avail = _cnnmc_inputs(picture)
    cus = _cus(128, 128)
    f = tmp_path / "inputs.npz"
    y, cb, cr = picture[0][:64, :96], picture[1][:32, :48], picture[2][:32, :48]
    y, cb, cr = (np.ascontiguousarray(p) for p in (y, cb, cr))
    np.savez(f, recon=recon, modes=modes, avail=avail, cus=np.array(cus), y=y, cb=cb, cr=cr)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    results = []
    for threads in (1, 4):
        p = subprocess.run([sys.executable, "-c", _CHILD, str(threads), str(f)], capture_output=True, text=True,
                           env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        r = json.loads(p.stdout.strip().splitlines()[-1])
        assert r["threads"] == threads  # the hooks restore the caller's thread count
        results.append(r)
    for r in results[1:]:
        assert r["lists"] == results[0]["lists"]
        assert r["cnnif"] == results[0]["cnnif"]
    # and the same in this process
    assert _core.cnnmc_mpm(str(zoo.path("cnnmc")), recon, modes, avail, 128, 128, cus) == results[0]["lists"]
    out = _core.cnnif_filter(str(zoo.path("cnnif_s")), y, cb, cr, 32)
    assert hashlib.sha256(b"".join(o.tobytes() for o in out)).hexdigest() == results[0]["cnnif"]


def test_hook_errors(tmp_path):
    y = np.full((16, 16), 512, np.uint16)
    c = np.full((8, 8), 512, np.uint16)
    r = np.full((3, 128, 128), 512, np.uint16)
    m = np.full((3, 32, 32), 255, np.uint8)
    a = np.zeros(3, bool)
    with pytest.raises(ValueError, match="CNN model file not found"):
        _core.cnnif_filter(str(tmp_path / "missing.pt"), y, c, c, 32)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(ValueError, match="not a readable TorchScript archive"):
        _core.cnnif_filter(str(bad), y, c, c, 32)
    with pytest.raises(ValueError, match="not a readable TorchScript archive"):
        _core.cnn_model_info(str(bad))
    with pytest.raises(ValueError, match="holds a 'cnnmc' model, expected a 'cnnif' model"):
        _core.cnnif_filter(str(zoo.path("cnnmc")), y, c, c, 32)
    with pytest.raises(ValueError, match="holds a 'cnnif' model, expected a 'cnnmc' model"):
        _core.cnnmc_mpm(str(zoo.path("cnnif_s")), r, m, a, 0, 0, [(0, 0, 3, 3)])
    # TorchScript without pyvtm metadata
    plain = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(torch.nn.Identity()), str(plain))
    with pytest.raises(ValueError, match="no pyvtm metadata"):
        _core.cnnif_filter(str(plain), y, c, c, 32)
    # right metadata, wrong interface
    wrong = tmp_path / "wrong.pt"
    torch.jit.save(torch.jit.script(torch.nn.Identity()), str(wrong),
                   _extra_files={"pyvtm.kind": "cnnif", "pyvtm.format": "1", "pyvtm.model_id": "x"})
    with pytest.raises(ValueError, match="does not run with the cnnif interface"):
        _core.cnnif_filter(str(wrong), y, c, c, 32)
    newer = tmp_path / "newer.pt"
    torch.jit.save(torch.jit.script(torch.nn.Identity()), str(newer),
                   _extra_files={"pyvtm.kind": "cnnmc", "pyvtm.format": "99", "pyvtm.model_id": "x"})
    with pytest.raises(ValueError, match="interface format '99'"):
        _core.cnnmc_mpm(str(newer), r, m, a, 0, 0, [(0, 0, 3, 3)])


def test_model_info_cpp_matches_python():
    for name in zoo.available():
        info = _core.cnn_model_info(str(zoo.path(name)))
        meta = zoo.info(name)
        assert info["kind"] == meta["kind"] and info["model_id"] == meta["model_id"] and info["format"] == "1"
        assert json.loads(info["json"])["preset"] == meta["preset"]
