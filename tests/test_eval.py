"""pyvtm eval: RD points, BD-rate table and RD plot on one small image."""
from __future__ import annotations

import csv
import json
import math

import pytest
from PIL import Image

from pyvtm.utils.evaluate import _parse_grid, bd_table, codec_available, quality_at_bpp


def _synthetic_points(codec, scale=1.0, shift=0.0):
    pts = []
    for img in ("x.png", "y.png"):
        for r, q in zip((0.1, 0.2, 0.4, 0.8), (27.0, 30.0, 33.5, 37.0)):
            pts.append({"codec": codec, "image": img, "param": r, "bpp": r * scale, "psnr_y": q + shift,
                        "psnr_rgb": q + shift - 1, "ms_ssim_rgb": 0.9 + q / 1000})
    return pts


def test_bd_table_and_quality_at_bpp_on_synthetic_curves():
    pts = _synthetic_points("A") + _synthetic_points("B", scale=0.8) + _synthetic_points("C", shift=0.5)
    t = bd_table(pts, "A", ["A", "B", "C"])
    assert t["A"]["psnr_y"]["bd_rate"] == pytest.approx(0.0, abs=1e-9)
    assert t["B"]["psnr_y"]["bd_rate"] == pytest.approx(-20.0, abs=1e-9)
    assert t["B"]["psnr_rgb"]["bd_rate"] == pytest.approx(-20.0, abs=1e-9)
    assert t["B"]["ms_ssim_rgb"]["bd_rate"] == pytest.approx(-20.0, abs=1e-9)
    assert t["C"]["psnr_y"]["bd_quality_db"] == pytest.approx(0.5, abs=1e-9)
    assert t["B"]["psnr_y"]["images"] == 2
    # quality at a measured rate is the measured value; outside the range it is left out
    assert quality_at_bpp(pts, "A", "psnr_y", 0.2)["mean"] == pytest.approx(30.0, abs=1e-12)
    q = quality_at_bpp(pts, "A", "psnr_y", 0.05)
    assert math.isnan(q["mean"]) and q["images"] == 0 and q["of"] == 2


def test_parse_grid():
    assert _parse_grid("22-42:5") == [22, 27, 32, 37, 42]
    assert _parse_grid("27,37") == [27, 37]
    assert _parse_grid("0.1,0.25") == [0.1, 0.25]


def test_eval_pyvtm_and_jpeg_on_one_image(tmp_path, kodak_dir):
    d = tmp_path / "imgs"
    d.mkdir()
    with Image.open(kodak_dir / "kodim23.png") as im:
        im.convert("RGB").crop((200, 100, 376, 276)).save(d / "k23.png")   # 176x176 (MS-SSIM needs >= 161)
    assert codec_available("jpeg")[0]
    out = tmp_path / "eval"
    from pyvtm.cli import main

    rc = main(["eval", str(d), "--codecs", "pyvtm,jpeg", "--qps", "30,37,44", "--grid", "jpeg=10,30,60,90",
               "--anchor", "jpeg", "--jobs", "1", "--out", str(out)])
    assert rc == 0
    rows = list(csv.DictReader(open(out / "points.csv")))
    assert len(rows) == 3 + 4
    for r in rows:
        assert r["codec"] in ("pyvtm", "jpeg") and r["image"] == "k23.png"
        bpp = float(r["bpp"])
        assert bpp == pytest.approx(int(r["bytes"]) * 8 / (176 * 176), rel=1e-6)
        assert 0.02 < bpp < 6
        assert 20 < float(r["psnr_y"]) < 60 and 18 < float(r["psnr_rgb"]) < 60
        assert 0.5 < float(r["ms_ssim_rgb"]) <= 1.0 and 0.5 < float(r["ms_ssim_y"]) <= 1.0
    # quality rises with rate within each codec
    for c in ("pyvtm", "jpeg"):
        pts = sorted((float(r["bpp"]), float(r["psnr_rgb"])) for r in rows if r["codec"] == c)
        assert all(b[1] > a[1] for a, b in zip(pts, pts[1:]))
    summ = json.loads((out / "summary.json").read_text())
    assert summ["anchor"] == "jpeg"
    assert summ["bd"]["jpeg"]["psnr_y"]["bd_rate"] == pytest.approx(0.0, abs=1e-9)
    # VVC intra needs far fewer bits than baseline JPEG at equal PSNR
    assert -95 < summ["bd"]["pyvtm"]["psnr_rgb"]["bd_rate"] < -15
    assert -95 < summ["bd"]["pyvtm"]["psnr_y"]["bd_rate"] < -15
    bd = list(csv.DictReader(open(out / "bd_rate.csv")))
    assert {r["codec"] for r in bd} == {"pyvtm", "jpeg"}
    png = (out / "rd_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "| pyvtm |" in (out / "summary.md").read_text()

    # resume: everything comes from the cache (no encodes), same points
    from pyvtm.utils.evaluate import evaluate

    s2 = evaluate(d, ["pyvtm", "jpeg"], qps=[30, 37, 44], grids={"jpeg": [10, 30, 60, 90]}, anchor="jpeg",
                  out=out, resume=True, progress=False, plot=False, jobs=1)
    assert s2["bd"]["pyvtm"]["psnr_rgb"]["bd_rate"] == pytest.approx(summ["bd"]["pyvtm"]["psnr_rgb"]["bd_rate"])
