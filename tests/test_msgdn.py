"""MSGDN post-filter: network sizes, SEI signalling (H.274 NNPFC/NNPFA), codec
interfaces, training (L1/MSE and GAN plumbing), export (all on CPU, small)."""
import json

import numpy as np
import pytest
import torch

import pyvtm
from pyvtm import nnpf
from pyvtm.models.msgdn import (GRDB, RDB, Discriminator, MSGDNFilter, RegionNonLocal, VGG19Features,
                                apply_postfilter, grdb_parameter_count, msgdn_cost, ragan_d_loss, ragan_g_loss,
                                rdb_parameter_count)

TINY = dict(channels=(8, 8, 4), growth=(2, 2, 2), rdbs=1, layers=1, window=4)


def _nparams(m):
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------
# network


def test_block_parameter_counts_by_hand():
    # RDB(C=4, G=2, 2 layers): 3x3 4->2 (72+2), 3x3 6->2 (108+2), 1x1 8->4 (32+4)
    assert _nparams(RDB(4, 2, 2)) == 74 + 110 + 36 == rdb_parameter_count(4, 2, 2)
    # GRDB: two such RDBs + 1x1 8->4
    assert _nparams(GRDB(4, 2, 2, 2)) == 2 * 220 + 36 == grdb_parameter_count(4, 2, 2, 2)
    # non-local on 8 channels (inner 4): theta/phi/g 1x1 8->4 (36 each), out 1x1 4->8 (40)
    assert _nparams(RegionNonLocal(8, 4)) == 3 * 36 + 40


def test_tiny_network_parameter_count_by_hand():
    m = MSGDNFilter("tiny", **TINY)
    # head 3x3 4->4: 148; down 3x3 4->8: 296; down 3x3 8->8: 584
    # GRDB full res (C4 G2 1x1): RDB 74 + 28, fusion 20 -> 122; GRDB at 1/2 and 1/4 (C8 G2): 146 + 88 + 72 = 306
    # fuse2 1x1 16->8: 136; NL(8): 148; fuse1 1x1 12->4: 52; NL(4), inner 2: 3*10 + 12 = 42; tail 3x3 4->3: 111
    hand = 148 + 296 + 584 + 122 + 306 + 306 + 136 + 148 + 52 + 42 + 111
    assert hand == 2251
    assert _nparams(m) == hand == msgdn_cost(m.config())["parameters"]


@pytest.mark.parametrize("preset", ["msgdn_s", "msgdn"])
def test_preset_sizes(preset):
    m = MSGDNFilter(preset)
    cost = msgdn_cost(m.config())
    assert _nparams(m) == cost["parameters"]
    expected = {"msgdn_s": (184603, 47.472), "msgdn": (15801827, 3945.408)}[preset]
    assert cost["parameters"] == expected[0]
    assert cost["kmac_per_pixel"] == pytest.approx(expected[1], abs=1e-3)
    if preset == "msgdn":
        assert m.channels == [128, 128, 64] and m.rdbs == 4 and m.layers == 8


def test_kmac_closed_form_matches_counted_macs():
    m = MSGDNFilter("msgdn_s").eval()
    H = W = 64
    macs = []

    def hook(mod, inp, out):
        macs.append(out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups)

    hs = [mod.register_forward_hook(hook) for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)]
    with torch.no_grad():
        m(torch.zeros(1, 3, H, W), torch.tensor([37.0]))
    for h in hs:
        h.remove()
    attn = 0
    for nl, scale in ((m.net.nl2, 2), (m.net.nl1, 1)):  # nl2 at 1/2 resolution
        attn += 2 * nl.window ** 2 * nl.inner * (H // scale) * (W // scale)
    assert (sum(macs) + attn) / (H * W) / 1000 == pytest.approx(m.kmac_per_pixel(), rel=1e-9)


@pytest.mark.parametrize("hw", [(37, 53), (16, 16), (77, 51), (8, 130)])
def test_shapes_and_identity_at_init(hw):
    m = MSGDNFilter("tiny", **TINY).eval()
    x = torch.rand(2, 3, *hw) * 255
    with torch.no_grad():
        y = m(x, torch.tensor([30.0, 40.0]))
    assert y.shape == x.shape
    assert torch.equal(y, x)  # the last conv starts at zero: identity filter


def test_tiled_filtering_matches_whole_picture_closely():
    torch.manual_seed(1)
    m = MSGDNFilter("msgdn_s").eval()
    torch.nn.init.normal_(m.net.tail.weight, std=0.02)
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(128, 40, (100, 150, 3)), 0, 255).astype(np.uint8)
    whole = apply_postfilter(m, img, 37, tile=0)
    tiled = apply_postfilter(m, img, 37, tile=32, overlap=32)
    assert whole.shape == tiled.shape == img.shape and tiled.dtype == np.uint8
    assert not np.array_equal(whole, img)
    d = np.abs(whole.astype(int) - tiled.astype(int))
    assert d.mean() < 0.05 and d.max() <= 2
    # without overlap the tile borders show
    d0 = np.abs(whole.astype(int) - apply_postfilter(m, img, 37, tile=32, overlap=0).astype(int))
    assert d0.mean() > d.mean()


# ---------------------------------------------------------------------------
# GAN parts


def test_ragan_losses_symmetric_form():
    cr, cf = torch.randn(6), torch.randn(6)
    # the generator's loss is the discriminator's with real and fake swapped
    assert torch.allclose(ragan_g_loss(cr, cf), ragan_d_loss(cf, cr))
    # a critic that separates well: low D loss, high G loss
    good_r, good_f = torch.full((4,), 5.0), torch.full((4,), -5.0)
    assert ragan_d_loss(good_r, good_f) < 0.01 < ragan_g_loss(good_r, good_f)
    d = Discriminator(base=8, stages=2)
    assert d(torch.rand(3, 3, 32, 32)).shape == (3,)


def test_vgg19_layout_and_torchvision_state_dict():
    v = VGG19Features(width_div=16)
    convs = [i for i, mod in enumerate(v.features) if isinstance(mod, torch.nn.Conv2d)]
    assert len(v.features) == 35 and convs[-1] == 34 and len(convs) == 16  # up to conv5_4, before its ReLU
    assert convs[:4] == [0, 2, 5, 7]  # torchvision's module indices
    other = VGG19Features(width_div=16)
    sd = {f"features.{k}": t.clone() + 1 for k, t in other.features.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(4, 4)  # ignored
    assert v.load_torchvision_state_dict(sd) == 32
    assert torch.equal(v.features[34].weight, other.features[34].weight + 1)
    with pytest.raises(ValueError, match="missing"):
        v.load_torchvision_state_dict({"features.0.weight": sd["features.0.weight"]})
    bad = dict(sd)
    bad["features.0.weight"] = torch.zeros(1, 3, 3, 3)
    with pytest.raises(ValueError, match="shape"):
        v.load_torchvision_state_dict(bad)
    assert v(torch.rand(1, 3, 32, 32)).shape == (1, 32, 2, 2)


# ---------------------------------------------------------------------------
# SEI


@pytest.mark.parametrize("v", [0, 1, 2, 3, 7, 8, 254, 255, 256, 1 << 20])
def test_ue_round_trip(v):
    w = nnpf._BitWriter()
    w.ue(v)
    w.flag(1)
    w.payload_end()
    r = nnpf._BitReader(w.bytes())
    assert r.ue() == v and r.flag()


def test_emulation_prevention():
    rbsp = bytes([0, 0, 1, 0, 0, 0, 5, 0, 0, 3, 0, 0, 2, 0x80])
    nal = nnpf.rbsp_to_nal_payload(rbsp)
    assert b"\x00\x00\x00" not in nal and b"\x00\x00\x01" not in nal and b"\x00\x00\x02" not in nal
    assert nal.count(3) == 4 + 1  # one inserted before each 00 00 0x (x <= 3), plus the original 3
    assert nnpf.nal_payload_to_rbsp(nal) == rbsp


def test_nnpf_sei_round_trip():
    c = nnpf.Nnpfc(id=5, uri=nnpf.URI_PREFIX + "msgdn_s-v1-0123456789ab", overlap=48, patch_size=256)
    rbsp = nnpf.write_nnpf_sei_rbsp(c)
    msgs = nnpf.parse_sei_rbsp(rbsp)
    assert [t for t, _ in msgs] == [210, 211]
    back = nnpf._read_nnpfc(msgs[0][1])
    assert (back.id, back.uri, back.tag_uri, back.purpose, back.overlap, back.patch_size) == \
        (5, c.uri, nnpf.TAG_URI, 0x0003, 48, 256)
    assert (back.inp_order_idc, back.out_order_idc, back.matrix_coeffs, back.auxiliary_inp_idc) == (3, 2, 0, 1)
    a = nnpf._read_nnpfa(msgs[1][1])
    assert a.target_id == 5 and not a.cancel and not a.persistence
    # bytes: the tag URI string is null-terminated and byte aligned after nnpfc_mode_idc
    assert (nnpf.TAG_URI.encode() + b"\0" + c.uri.encode() + b"\0") in msgs[0][1]


def _sample(h=64, w=96):
    from pyvtm.data import load_sample

    return np.ascontiguousarray(load_sample()[:h, :w])


@pytest.fixture(scope="module")
def pf_model(tmp_path_factory):
    """A small exported post-filter with non-zero output (random weights)."""
    from pyvtm.utils.export import export_msgdn

    torch.manual_seed(0)
    m = MSGDNFilter("msgdn_s")
    torch.nn.init.normal_(m.net.tail.weight, std=0.01)
    d = tmp_path_factory.mktemp("pf")
    return export_msgdn(m, d / "msgdn_s.pt"), m


def test_encode_with_postfilter_sei_and_ffmpeg_ignores_it(pf_model):
    from pyvtm.ffmpeg import decode_vvc

    path, m = pf_model
    img = _sample()
    plain = pyvtm.encode(img, 37)
    res = pyvtm.encode(img, 37, postfilter=str(path))
    assert res.postfilter["model_id"].startswith("msgdn_s-v1-")
    assert res.bits == 8 * len(res.bitstream) > plain.bits  # the SEI is counted
    # the SEI NAL unit sits before the slice; removing it gives the plain stream back
    types = [(res.bitstream[hs + 1] >> 3) for _, hs, _ in nnpf.split_nal_units(res.bitstream)]
    assert types.index(23) == len(types) - 2 and types[-1] in range(0, 12)
    assert nnpf.strip_postfilter_sei(res.bitstream) == plain.bitstream
    sei = nnpf.read_postfilter_sei(res.bitstream)
    assert len(sei) == 1 and sei[0]["active"] and sei[0]["model_id"] == res.postfilter["model_id"]
    # FFmpeg skips the SEI: bit-exactly the picture of the stream without it
    a, b = decode_vvc(res.bitstream), decode_vvc(plain.bitstream)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(a, res.recon_ycbcr))
    # recon_rgb is the post-filtered picture
    assert np.array_equal(res.recon_rgb_unfiltered, plain.recon_rgb)
    assert not np.array_equal(res.recon_rgb, plain.recon_rgb)
    want = apply_postfilter(m.eval(), pyvtm.ycbcr_to_rgb(*plain.recon_ycbcr), 37)
    assert np.array_equal(res.recon_rgb, want)
    assert res.psnr_rgb_unfiltered == pytest.approx(plain.psnr_rgb)


def test_decode_with_and_without_postfilter(pf_model, tmp_path, monkeypatch):
    from pyvtm import zoo

    path, _ = pf_model
    res = pyvtm.encode(_sample(), 40, postfilter=str(path))
    # the stream's model is not installed: a clear error, unless skipped or named
    monkeypatch.setattr(zoo, "_weights_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="not installed"):
        pyvtm.decode(res.bitstream)
    off = pyvtm.decode(res.bitstream, postfilter=False)
    assert np.array_equal(off, res.recon_rgb_unfiltered)
    assert np.array_equal(pyvtm.decode(res.bitstream, postfilter=str(path)), res.recon_rgb)
    # installed under its registry name: found by the id in the stream
    (tmp_path / "msgdn_s.pt").write_bytes(path.read_bytes())
    pic = pyvtm.decode_picture(res.bitstream)
    assert pic.postfilter["from_stream"] and pic.postfilter["model_id"] == res.postfilter["model_id"]
    assert np.array_equal(pic.rgb, res.recon_rgb) and np.array_equal(pic.rgb_unfiltered, off)
    y, cb, cr = pyvtm.decode(res.bitstream, ycbcr=True)  # planes are never filtered
    assert np.array_equal(y, res.recon_ycbcr[0])
    # postfilter(): any decoded picture
    assert np.array_equal(pyvtm.postfilter(off, model="msgdn", qp=40), res.recon_rgb)
    assert np.array_equal(pyvtm.postfilter(off, model=True, qp=40, tile=32, overlap=32).shape, off.shape)
    with pytest.raises(TypeError):
        pyvtm.postfilter(off, model="msgdn")
    with pytest.raises(ValueError, match="msgdn_gan"):
        pyvtm.decode(res.bitstream, postfilter="msgdn_gan")  # family with nothing installed
    # a plain stream is not filtered by default, but can be on request
    plain = pyvtm.encode(_sample(), 40)
    assert pyvtm.decode_picture(plain.bitstream).postfilter is None
    assert np.array_equal(pyvtm.decode(plain.bitstream, postfilter="msgdn_s"), res.recon_rgb)


def test_cli_encode_decode_postfilter(pf_model, tmp_path):
    from PIL import Image

    from pyvtm.cli import main

    path, _ = pf_model
    Image.fromarray(_sample()).save(tmp_path / "in.png")
    assert main(["encode", str(tmp_path / "in.png"), "--qp", "40", "--postfilter", str(path),
                 "-o", str(tmp_path / "a.266"), "--recon", str(tmp_path / "r.png")]) == 0
    assert nnpf.read_postfilter_sei((tmp_path / "a.266").read_bytes())[0]["active"]
    assert main(["decode", str(tmp_path / "a.266"), "--no-postfilter", "-o", str(tmp_path / "d0.png")]) == 0
    assert main(["decode", str(tmp_path / "a.266"), "--postfilter", str(path), "-o", str(tmp_path / "d1.png")]) == 0
    from conftest import load_rgb

    assert np.array_equal(load_rgb(tmp_path / "d1.png")[:64, :96], load_rgb(tmp_path / "r.png"))
    assert not np.array_equal(load_rgb(tmp_path / "d0.png"), load_rgb(tmp_path / "d1.png"))


def test_parse_options_postfilter():
    from pyvtm.utils.runner import parse_options

    assert parse_options(["postfilter=msgdn,rdoq=0"]) == {"postfilter": "msgdn", "rdoq": False}
    assert parse_options(["postfilter=1"]) == {"postfilter": True}
    assert parse_options(["postfilter=0"]) == {}


# ---------------------------------------------------------------------------
# training / export


@pytest.fixture(scope="module")
def pf_set(tmp_path_factory):
    """A post-filter set: made-up 48x48 crops whose 'reconstruction' has a
    fixed degradation (luma +40, a smooth shift the filter can learn fast)."""
    from pyvtm.colour import rgb_to_ycbcr
    from pyvtm.utils.dataset import save_dataset

    rng = np.random.default_rng(0)
    n, s = 6, 48
    yy, xx = np.mgrid[0:s, 0:s]
    rgbs, arr = [], {k: [] for k in ("orig_y", "orig_cb", "orig_cr", "diff_y", "diff_cb", "diff_cr")}
    for i in range(n):
        img = np.stack([(xx * (i + 1) + yy) % 256, (yy * 3 + 20 * i) % 256, (xx + yy) * 2 % 256], -1)
        img = np.clip(img + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
        rgbs.append(img)
        planes = rgb_to_ycbcr(img)
        for c, p in zip(("y", "cb", "cr"), planes):
            arr[f"orig_{c}"].append(p)
            d = np.zeros(p.shape, np.int32) + (40 if c == "y" else 0)
            d = np.clip(p.astype(np.int32) + d, 0, 1023) - p
            arr[f"diff_{c}"].append(d.astype(np.int16))
    arrays = {k: np.stack(v) for k, v in arr.items()}
    arrays["orig_rgb"] = np.stack(rgbs)
    arrays["crop_index"] = np.arange(n, dtype=np.int32)
    arrays["crop_image"] = np.arange(n, dtype=np.int32)
    arrays["qp"] = np.full(n, 40, np.uint8)
    d = tmp_path_factory.mktemp("pfset")
    return save_dataset(d / "pf.npz.xz", arrays, {"kind": "cnnif-dataset", "version": 1, "crop": s})


@pytest.fixture(scope="module")
def trained(pf_set, tmp_path_factory):
    from pyvtm.utils.train import train_msgdn

    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("run")
    ck = train_msgdn([pf_set], out, preset="tiny", model_config=TINY, steps=60, batch=4, patch=32, lr=3e-3,
                     warmup=5, val_every=3, eval_every=0, ckpt_every=30, progress=False, echo=False, log_every=1)
    return out, ck


def test_tiny_training_learns(trained):
    out, ck = trained
    log = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    kinds = [r["kind"] for r in log if "loss" in r]
    assert kinds[0] == "l1" and kinds[-1] == "mse"
    first_l1, last_l1 = losses[0], [l for l, k in zip(losses, kinds) if k == "l1"][-1]
    assert last_l1 < 0.7 * first_l1
    final = [r for r in log if r.get("final")][-1]
    assert final["gain_rgb"] > 0.3  # on the held-out crops
    assert ck["step"] == 60 and ck["kind"] == "msgdn"


def test_resume_continues(trained, pf_set, tmp_path):
    import shutil

    from pyvtm.utils.train import train_msgdn

    out, ck = trained
    shutil.copytree(out, tmp_path / "r")
    ck2 = train_msgdn([pf_set], tmp_path / "r", steps=64, batch=4, patch=32, resume=True, val_every=3,
                      eval_every=0, ckpt_every=0, progress=False, echo=False)
    assert ck2["step"] == 64


@pytest.mark.parametrize("fp16", [False, True])
def test_export_load_round_trip(trained, tmp_path, fp16):
    from pyvtm.utils.export import export_checkpoint, load_model, read_metadata
    from pyvtm.utils.train import msgdn_from_checkpoint

    out, ck = trained
    p = export_checkpoint(out / "last.pt", tmp_path / "m.pt", fp16=fp16)
    meta = read_metadata(p)
    assert meta["kind"] == "postfilter" and meta["preset"] == "tiny" and meta["name"] == "tiny"
    assert meta["parameters"] == 2251 and meta["storage_dtype"] == ("float16" if fp16 else "float32")
    assert meta["model_id"].startswith("tiny-v1-") and meta["channels"] == [8, 8, 4]
    module, _ = load_model(p, kind="postfilter")
    eager = msgdn_from_checkpoint(ck)
    if fp16:
        eager = eager.half().float()
    x = torch.rand(1, 3, 40, 56) * 255
    with torch.no_grad():
        a, b = module(x, torch.tensor([40.0])), eager(x, torch.tensor([40.0]))
    assert torch.allclose(a, b, atol=1e-3)


def test_gan_plumbing_small_random_vgg(trained, pf_set, tmp_path):
    from pyvtm.utils.export import export_checkpoint, read_metadata
    from pyvtm.utils.train import train_msgdn

    out, _ = trained
    vgg = VGG19Features(last=16, width_div=16)  # a small random VGG (up to conv3_4)
    ck = train_msgdn([pf_set], tmp_path / "g", gan=True, init=out / "last.pt", vgg_module=vgg, steps=6,
                     batch=2, patch=32, val_every=3, eval_every=0, ckpt_every=0, progress=False, echo=False,
                     log_every=1, disc_base=8)
    assert ck["kind"] == "msgdn_gan" and "discriminator" in ck and ck["train_config"]["w_perc"] == 1e-4
    log = [json.loads(l) for l in (tmp_path / "g" / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "adv" in r]
    assert steps and all("perc" in r and "d_loss" in r for r in steps)
    assert "on" in [r for r in log if r.get("event") == "start"][0]["perceptual"]
    p = export_checkpoint(tmp_path / "g" / "last.pt", tmp_path / "gan.pt")
    assert read_metadata(p)["name"] == "tiny_gan" and read_metadata(p)["model_id"].startswith("tiny_gan-")
    # without VGG weights: trained without the perceptual term, and the log says so
    ck = train_msgdn([pf_set], tmp_path / "h", gan=True, init=out / "last.pt", steps=2, batch=2, patch=32,
                     val_every=3, eval_every=0, ckpt_every=0, progress=False, echo=False, log_every=1,
                     disc_base=8)
    log = [json.loads(l) for l in (tmp_path / "h" / "log.jsonl").read_text().splitlines()]
    assert "off" in log[0]["perceptual"] and not any("perc" in r for r in log[1:])
    assert ck["train_config"]["w_perc"] == 0.0


def test_foreign_post_filter_is_reported_not_applied():
    plain = pyvtm.encode(_sample(32, 32), 40)
    c = nnpf.Nnpfc(id=7, tag_uri="urn:example:nnr", uri="https://example.com/filter.nnr")
    stream = nnpf.insert_prefix_sei(plain.bitstream, nnpf.write_nnpf_sei_rbsp(c))
    sei = nnpf.read_postfilter_sei(stream)
    assert sei[0]["active"] and sei[0]["model_id"] is None
    with pytest.warns(UserWarning, match="not a pyvtm model"):
        pic = pyvtm.decode_picture(stream)
    assert pic.postfilter is None and np.array_equal(pic.rgb, pyvtm.decode(plain.bitstream))


def test_allocate_and_eval_jobs_take_the_post_filter(pf_model, tmp_path):
    from PIL import Image

    from pyvtm.colour import rgb_to_ycbcr
    from pyvtm.utils import allocate, evaluate

    path, _ = pf_model
    img = _sample(48, 64)
    Image.fromarray(img).save(tmp_path / "a.png")
    res = pyvtm.encode(img, 40, postfilter=str(path))
    rec = allocate._encode_job({"path": str(tmp_path / "a.png"), "name": "a.png", "key": "k", "qp": 40,
                                "opts": {"postfilter": str(path)}})
    assert rec["postfilter"] == res.postfilter["model_id"] and rec["bitstream"] == res.bitstream
    assert rec["psnr_rgb"] == pytest.approx(res.psnr_rgb) and rec["psnr_rgb_unfiltered"] != rec["psnr_rgb"]
    data, dec_rgb, dec_planes, _ = evaluate._codec_pyvtm(img, rgb_to_ycbcr(img), 40, tmp_path,
                                                          {"postfilter": str(path)})
    assert data == res.bitstream and dec_planes is None  # FFmpeg's picture, then the filter the SEI names
    assert np.array_equal(dec_rgb, res.recon_rgb)
