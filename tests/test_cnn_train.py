"""Tiny training runs: data sets, checkpoints, resume, export (all on CPU)."""
import json

import numpy as np
import pytest
import torch

from pyvtm import _core
from pyvtm.utils import dataset
from pyvtm.utils.export import read_metadata
from pyvtm.utils.train import CnnifData, CnnmcData, evaluate_cnnmc, load_checkpoint, train_cnnif, train_cnnmc


@pytest.fixture(scope="module")
def cnnif_set(tmp_path_factory):
    """A CNNIF set built with the real encoder from a made-up 96x96 picture."""
    from PIL import Image

    d = tmp_path_factory.mktemp("cnnif")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96]
    img = np.stack([(xx * 2 + yy) % 256, (yy * 3) % 256, (xx * yy) % 256], -1).astype(np.uint8)
    img = np.clip(img.astype(int) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(d / "pic.png")
    return dataset.build_cnnif_dataset([d / "pic.png"], d / "set.npz.xz", qps=(32, 42), crop=64,
                                       crops_per_image=2, qps_per_crop=2, workers=1, progress=False)


def test_cnnif_dataset(cnnif_set):
    arrays, meta = dataset.load_dataset(cnnif_set)
    assert meta["kind"] == "cnnif-dataset" and meta["crop"] == 64
    assert arrays["orig_y"].shape == (2, 64, 64) and arrays["rec_y"].shape == (4, 64, 64)
    assert arrays["rec_cb"].shape == (4, 32, 32) and sorted(set(arrays["qp"].tolist())) == [32, 42]
    # the reconstruction is the encoder's: PSNR matches what the encoder reported
    for i in range(4):
        o = arrays["orig_y"][arrays["crop_index"][i]].astype(float)
        mse = np.mean((arrays["rec_y"][i] - o) ** 2)
        assert 10 * np.log10(1023 ** 2 / mse) == pytest.approx(arrays["psnr_y"][i], abs=1e-3)
    data = CnnifData([cnnif_set], "cpu", "all")
    rec, org, qp = data.sample(3, 32, torch.Generator().manual_seed(0))
    assert rec[0].shape == (3, 1, 32, 32) and rec[1].shape == (3, 1, 16, 16) and qp.shape == (3,)


def test_cnnif_train_checkpoint_resume_export(cnnif_set, tmp_path):
    out = tmp_path / "run"
    kw = dict(preset="cnnif_s", layout="rgb", batch=2, patch=32, device="cpu", val_every=0, ckpt_every=2,
              log_every=1, warmup=2, echo=False, progress=False)
    ck = train_cnnif([cnnif_set], out, steps=3, **kw)
    assert ck["step"] == 3 and (out / "last.pt").is_file()
    w3 = {k: v.clone() for k, v in ck["model"].items()}
    ck2 = train_cnnif([cnnif_set], out, steps=5, resume=True, **kw)
    assert ck2["step"] == 5
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    assert {"event": "resume", "step": 3} in log
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4, 5]
    assert any(not torch.equal(w3[k], ck2["model"][k]) for k in w3)  # it trained on
    assert load_checkpoint(out / "last.pt")["step"] == 5
    # export through the CLI and run the result in the C++ hook
    from pyvtm.cli import main

    model = tmp_path / "m.pt"
    assert main(["export", str(out / "last.pt"), "-o", str(model)]) == 0
    meta = read_metadata(model)
    assert meta["kind"] == "cnnif" and meta["training"]["steps"] == 5 and meta["layout"] == "rgb"
    y = np.full((16, 16), 500, np.uint16)
    c = np.full((8, 8), 510, np.uint16)
    assert [o.shape for o in _core.cnnif_filter(str(model), y, c, c, 37)] == [(16, 16), (8, 8), (8, 8)]


def test_train_cli(cnnif_set, tmp_path):
    from pyvtm.cli import main

    out = tmp_path / "cli"
    assert main(["train", "cnnif", str(cnnif_set), "--out", str(out), "--steps", "2", "--batch", "2",
                 "--patch", "32", "--device", "cpu", "--val-every", "0"]) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 2
    assert main(["train", "cnnif", str(cnnif_set), "--out", str(out)]) == 2  # neither --steps nor --minutes


@pytest.fixture(scope="module")
def cnnmc_set(tmp_path_factory):
    """A made-up CNNMC set (random luma, modes constant per 8x8 CU)."""
    d = tmp_path_factory.mktemp("cnnmc")
    rng = np.random.default_rng(0)
    n = 4
    modes = np.repeat(np.repeat(rng.integers(0, 67, (n, 32, 32)), 2, 1), 2, 2).astype(np.uint8)
    arrays = {"rec_y": rng.integers(0, 1024, (n, 256, 256)).astype(np.uint16), "modes": modes,
              "cu_log2": np.full_like(modes, 3), "qp": np.full(n, 37, np.uint8),
              "crop_index": np.arange(n, dtype=np.int32)}
    meta = {"kind": "cnnmc-dataset", "version": 1, "crop": 256, "mode_source": "made-up", "store_bits": 10}
    return dataset.save_dataset(d / "mc.npz.xz", arrays, meta)


def test_cnnmc_train_resume_and_eval(cnnmc_set, tmp_path):
    data = CnnmcData([cnnmc_set], "cpu", "all")
    assert len(data) == 16
    recon, modes, av, target = data.gather(torch.tensor([[0, 1, 1], [1, 0, 1]]))
    assert recon.shape == (2, 3, 128, 128) and modes.shape == (2, 3, 32, 32) and target.shape == (2, 32, 32)
    assert av.tolist() == [[1, 1, 1], [0, 1, 0]]
    assert torch.equal(target[0], torch.from_numpy(data.modes_np[0, 32:64, 32:64]))
    assert (modes[1, 0] == 255).all() and torch.equal(modes[1, 1], torch.from_numpy(data.modes_np[1, 0:32, 0:32]))
    kw = dict(batch=2, device="cpu", val_every=0, ckpt_every=1, log_every=1, warmup=1, echo=False, progress=False)
    ck = train_cnnmc([cnnmc_set], tmp_path / "mc", steps=2, **kw)
    assert ck["step"] == 2 and ck["mode_source"] == ["made-up"]
    ck = train_cnnmc([cnnmc_set], tmp_path / "mc", steps=3, resume=True, **kw)
    assert ck["step"] == 3
    from pyvtm.utils.train import cnnmc_from_checkpoint

    ev = evaluate_cnnmc(cnnmc_from_checkpoint(ck), data, max_ctus=2)
    assert ev["unit"] == "cu" and ev["cus"] == 2 * 16 * 16
    for k in ("top1", "top6", "std_top6"):
        assert 0.0 <= ev[k] <= 1.0


def test_modes_unavailable_message(monkeypatch):
    # a core that returns no modes: the CNNMC data builder says what is missing
    def fake(*a, **kw):
        if "return_modes" in kw:
            raise TypeError("encode_picture(): incompatible function arguments")
        return {}

    monkeypatch.setattr(_core, "encode_picture", fake)
    with pytest.raises(dataset.ModesUnavailable, match="returned no 'modes'"):
        dataset.encode_with_modes(np.zeros((8, 8), np.uint16), np.zeros((4, 4), np.uint16),
                                  np.zeros((4, 4), np.uint16), 37)


def test_proxy_modes_are_labelled():
    y = np.tile(np.arange(64, dtype=np.uint16) * 16, (64, 1))  # horizontal ramp: vertical edges
    m = dataset.proxy_modes_gradient(y)
    assert m.shape == (16, 16) and m.dtype == np.uint8
    assert (m[2:-2, 2:-2] == 50).all()  # vertical structure -> vertical mode 50
