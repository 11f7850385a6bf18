"""CNN model files: export / load round trip, metadata, zoo, error messages."""
import json

import numpy as np
import pytest
import torch

from pyvtm import zoo
from pyvtm.models.cnnif import CNNIFilter, apply_filter
from pyvtm.models.cnnmc import CNNMCExport, CNNMCNet
from pyvtm.utils.export import (FORMAT, ModelFileError, export_cnnif, export_cnnmc, load_model,
                                read_metadata)


@pytest.fixture(scope="module")
def small_cnnif():
    torch.manual_seed(1)
    m = CNNIFilter("cnnif_s", layout="rgb").eval()
    for p in m.net.tail.parameters():
        torch.nn.init.normal_(p, std=0.02)
    return m


def test_export_roundtrip_cnnif(tmp_path, small_cnnif):
    path = export_cnnif(small_cnnif, tmp_path / "if.pt", qp_range=(27, 42), training={"steps": 3})
    meta = read_metadata(path)
    assert meta["kind"] == "cnnif" and meta["format"] == FORMAT and meta["preset"] == "cnnif_s"
    assert meta["layout"] == "rgb" and meta["qp_input"] is True and meta["qp_range"] == [27, 42]
    assert "BT.601" in meta["colour_format"] and "qp/63" in meta["normalisation"]
    assert meta["model_id"].startswith("cnnif_s-v1-") and meta["training"] == {"steps": 3}
    assert meta["storage_dtype"] == "float32" and meta["parameters"] == 43907
    mod, meta2 = load_model(path, "cnnif")
    assert meta2["model_id"] == meta["model_id"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 1024, (32, 48)).astype(np.uint16)
    cb = rng.integers(0, 1024, (16, 24)).astype(np.uint16)
    cr = rng.integers(0, 1024, (16, 24)).astype(np.uint16)
    a = apply_filter(mod, y, cb, cr, 37)
    b = apply_filter(small_cnnif, y, cb, cr, 37)
    for x, z in zip(a, b):
        assert x.dtype == np.uint16 and np.array_equal(x, z)


def test_export_fp16(tmp_path, small_cnnif):
    p32 = export_cnnif(small_cnnif, tmp_path / "a.pt")
    p16 = export_cnnif(small_cnnif, tmp_path / "b.pt", fp16=True)
    assert p16.stat().st_size < 0.7 * p32.stat().st_size
    mod, meta = load_model(p16, "cnnif")
    assert meta["storage_dtype"] == "float16"
    assert all(p.dtype == torch.float32 for p in mod.parameters())
    # the stored values are the float16-rounded weights
    w = dict(mod.named_parameters())["net.head.weight"]
    assert torch.equal(w, small_cnnif.net.head.weight.half().float())


def test_export_roundtrip_cnnmc(tmp_path):
    torch.manual_seed(2)
    net = CNNMCNet().eval()
    path = export_cnnmc(net, tmp_path / "mc.pt")
    mod, meta = load_model(path, "cnnmc")
    assert meta["kind"] == "cnnmc" and meta["quant_scale"] == 65536 and "planar" in meta["mpm_rule"]
    x = (torch.rand(1, 3, 128, 128) * 1023, torch.randint(0, 67, (1, 3, 32, 32)), torch.ones(1, 3))
    assert torch.equal(mod(*x), CNNMCExport(net)(*x))


def test_load_errors(tmp_path, small_cnnif):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.pt")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"this is not a zip archive" * 100)
    with pytest.raises(ModelFileError, match="not a readable TorchScript archive"):
        load_model(bad)
    # a truncated model file
    good = export_cnnif(small_cnnif, tmp_path / "good.pt")
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="not a readable TorchScript archive"):
        load_model(trunc)
    plain = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(small_cnnif), str(plain))
    with pytest.raises(ModelFileError, match="no pyvtm metadata"):
        load_model(plain)
    with pytest.raises(ModelFileError, match="holds a 'cnnif' model, expected a 'cnnmc'"):
        load_model(good, "cnnmc")


def test_zoo():
    names = zoo.available()
    assert {"cnnif_s", "cnnif", "cnnmc"} <= set(names)
    for name in names:
        p = zoo.path(name)
        assert p.stat().st_size < 2_000_000, f"{name}: {p.stat().st_size} bytes"
        meta = zoo.info(name)
        assert meta["kind"] == zoo.REGISTRY[name]["kind"] and meta["preset"] == zoo.REGISTRY[name]["preset"]
        for key in ("version", "qp_range", "colour_format", "normalisation", "model_id", "training"):
            assert key in meta, f"{name}: metadata lacks {key}"
    mod, meta = zoo.load("cnnif_s")
    assert meta["layout"] in ("rgb", "yuv444", "yuv420") and meta["qp_input"] is True
    with pytest.raises(KeyError):
        zoo.path("nope")
    json.dumps(zoo.info("cnnmc"))  # plain JSON
