"""benchmarks/bench_vtm.py with a fake encoder (no pyvtm extension needed) and its VVenC runner."""
from __future__ import annotations

import importlib.util
import json
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import REPO_ROOT

ANCHORS = REPO_ROOT.parent / "shared" / "anchors"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_vtm", REPO_ROOT / "benchmarks" / "bench_vtm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


B = _load_bench()
OPTION_NAMES = {"preset"} | set(B.TOOLS) | set(B.OPT_IN_TOOLS)


def fake_encode(planes, qp, **options):
    """Uniform quantiser of the 10-bit planes; 'bitstream' = zlib of the indices.

    Switching a tool off makes it a little worse (coarser step), so that the
    tool table has something to show.
    """
    assert set(options) <= OPTION_NAMES, options
    assert isinstance(planes, tuple) and len(planes) == 3
    assert all(p.dtype == np.uint8 for p in planes)
    off = sum(1 for k in B.TOOLS if options.get(k) is False)
    step = 2.0 ** ((qp - 4) / 6.0) * (1.0 + 0.05 * off)
    recon, payload = [], b""
    for p in planes:
        x = p.astype(np.float64) * 4
        q = np.round(x / step).astype(np.int32)
        recon.append(np.clip(np.round(q * step), 0, 1023).astype(np.uint16))
        payload += zlib.compress(np.diff(q, axis=1, prepend=0).astype(np.int8).tobytes(), 1)
    h, w = planes[0].shape
    bits = 8 * len(payload)
    return SimpleNamespace(bitstream=payload, bits=bits, bpp=bits / (w * h), recon_ycbcr=tuple(recon),
                           width=w, height=h, seconds=0.001)


@pytest.fixture(scope="module")
def anchors():
    if not (ANCHORS / "vtm_23.13_ai.json").is_file():
        pytest.skip(f"anchors not found in {ANCHORS}")
    return B.load_anchors(ANCHORS)


def test_anchor_bd_rates_reproduce_readme(anchors):
    res = B.check_anchor_bd(anchors)
    assert res["VVenC-medium"]["psnr_y"] == pytest.approx(4.177, abs=5e-3)
    assert res["VVenC-medium"]["psnr_rgb"] == pytest.approx(1.565, abs=5e-3)
    assert res["VVenC-faster"]["psnr_y"] == pytest.approx(18.820, abs=5e-3)
    assert res["VVenC-faster"]["psnr_rgb"] == pytest.approx(16.649, abs=5e-3)
    assert all(r["ok"] for r in res.values())


def test_fake_run_tables_and_json(anchors, kodak_dir, tmp_path, capsys):
    out_json = tmp_path / "out.json"
    out = B.main(["--images", "kodim23,kodim05", "--qps", "22,27,32,37", "--no-vvenc", "--tools", "--quiet",
                  "--preset", "fast", "--data", str(kodak_dir), "--anchors", str(ANCHORS),
                  "--json", str(out_json)], encode_fn=fake_encode)
    text = capsys.readouterr().out
    assert "(a) BD-rate against VTM 23.13" in text and "(b) Tools switched off" in text
    for t in B.TOOLS:
        assert f"{t} off" in text
    for t in B.OPT_IN_TOOLS:
        assert f"{t} on" in text
    saved = json.loads(out_json.read_text())
    assert saved["preset"] == "fast" and saved["qps"] == [22, 27, 32, 37]
    assert len(saved["points"]) == 2 * 4 * (1 + len(B.TOOLS) + len(B.OPT_IN_TOOLS))
    p = saved["points"][0]
    assert p["bits"] == 8 * round(p["bpp"] * 768 * 512 / 8)
    bd = out["bd_vs_vtm"]["pyvtm-fast"]
    assert np.isfinite(bd["psnr_y"]["mean"]) and set(bd["psnr_y"]["per"]) == {"kodim23", "kodim05"}
    # every tool off costs bits in the fake
    for t in B.TOOLS:
        assert out["tools"][f"{t} off"]["bd_vs_all_tools"]["psnr_y"]["mean"] > 0
    # the anchor VVenC rows restricted to the same two pictures
    v = out["bd_vs_vtm"]["VVenC-medium (anchor JSON)"]["psnr_y"]
    assert set(v["per"]) == {"kodim23", "kodim05"}


def test_bits_must_match_the_bitstream(anchors, kodak_dir):
    def liar(planes, qp, **kw):
        r = fake_encode(planes, qp, **kw)
        r.bits += 8
        return r

    with pytest.raises(AssertionError, match="bitstream has"):
        B.main(["--images", "kodim23", "--qps", "32,37", "--no-vvenc", "--quiet", "--data", str(kodak_dir),
                "--anchors", str(ANCHORS)], encode_fn=liar)


def test_bd_summary_of_anchor_points(anchors):
    bd = B.bd_summary(anchors["VTM"], anchors["VVenC-medium"], (22, 27, 32, 37))
    assert bd["psnr_y"]["mean"] == pytest.approx(4.177, abs=5e-3)
    assert set(bd["psnr_rgb"]["per"]) == {"kodim01", "kodim05", "kodim15", "kodim23"}
    assert B.time_ratio(anchors["VVenC-medium"], anchors["VVenC-medium"]) == pytest.approx(1.0)


def test_unknown_picture_is_refused(anchors, kodak_dir):
    with pytest.raises(SystemExit, match="no VTM anchor point"):
        B.main(["--images", "kodim02", "--no-vvenc", "--quiet", "--data", str(kodak_dir),
                "--anchors", str(ANCHORS)], encode_fn=fake_encode)


def test_vvenc_reproduces_the_anchor_stream(anchors, kodak_dir, tmp_path):
    """The VVenC runner + metrics give the anchor's point exactly (faster preset: quick)."""
    rgb = B.load_rgb(kodak_dir / "kodim15.png")
    src = B.M.anchor_source_planes(rgb)
    pt = B.encode_vvenc(rgb, src, 42, tmp_path, preset="faster")
    a = B.anchor_point(anchors["VVenC-faster"], "kodim15", 42)
    assert pt["bits"] == a["bits"]
    for k in ("psnr_y", "psnr_u", "psnr_v", "psnr_rgb"):
        assert pt[k] == pytest.approx(a[k], abs=1e-3), k
