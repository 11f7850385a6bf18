"""pyvtm.metrics: the anchor-exact source/metrics and the SciPy-based BD-rate."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pyvtm.metrics import (anchor_metrics, anchor_rgb_from_planes, anchor_source_planes, bd_rate,
                           bd_rate_pictures, pchip_interpolate)


def test_source_planes_known_values():
    rgb = np.zeros((2, 4, 3), dtype=np.uint8)
    rgb[:, :2] = 255                                   # white block, black block
    y, cb, cr = anchor_source_planes(rgb)
    assert y.dtype == np.uint8 and y.shape == (2, 4) and cb.shape == (1, 2)
    assert y.tolist() == [[255, 255, 0, 0]] * 2
    assert cb.tolist() == [[128, 128]] and cr.tolist() == [[128, 128]]
    # pure red: Y = 76.245, Cr = 255.5 -> clipped 255, Cb = 84.97...
    red = np.zeros((2, 2, 3), dtype=np.uint8)
    red[..., 0] = 255
    y, cb, cr = anchor_source_planes(red)
    assert y[0, 0] == 76 and cb[0, 0] == 85 and cr[0, 0] == 255
    # ties round half to even (np.round): Cr of (1, 0, 0) is 128.5 -> 128, of (3, 0, 0) is 129.5 -> 130
    for r, expect in ((1, 128), (3, 130)):
        px = np.zeros((2, 2, 3), dtype=np.uint8)
        px[..., 0] = r
        assert anchor_source_planes(px)[2][0, 0] == expect


def test_source_planes_odd_size():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    y, cb, cr = anchor_source_planes(rgb)
    assert y.shape == (5, 7) and cb.shape == (3, 4) and cr.shape == (3, 4)


def test_rgb_from_flat_planes_is_exact():
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[...] = (200, 120, 40)
    src = anchor_source_planes(rgb)
    dec = tuple(p.astype(np.uint16) << 2 for p in src)
    back = anchor_rgb_from_planes(*dec)
    assert back.shape == rgb.shape and np.abs(back.astype(int) - rgb).max() <= 1


def test_anchor_metrics_definitions():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    src = anchor_source_planes(rgb)
    dec = [(p.astype(np.uint16) << 2) for p in src]
    dec[0] = dec[0] + 1                                       # luma MSE 1 (10-bit)
    m = anchor_metrics(rgb, src, dec, nbytes=10)
    assert m["bits"] == 80 and m["bpp"] == pytest.approx(80 / 64)
    assert m["psnr_y"] == pytest.approx(20 * math.log10(1020), abs=1e-12)
    assert m["psnr_u"] == math.inf
    # padded (even-rounded) decoded planes are cropped
    big = [np.pad(p, ((0, 2), (0, 2)), mode="edge") for p in dec]
    assert anchor_metrics(rgb, src, big, 10)["psnr_y"] == m["psnr_y"]


def test_pchip_is_scipy_and_integral_exact():
    from scipy import integrate
    from scipy.interpolate import PchipInterpolator

    x = np.array([28.0, 31.0, 34.5, 38.0])
    y = np.log10([0.12, 0.25, 0.5, 1.0])
    xi = np.linspace(27, 39, 50)
    assert np.allclose(pchip_interpolate(x, y, xi), PchipInterpolator(x, y)(xi), atol=0, rtol=0)
    # BD-rate equals the quadrature definition
    y2 = np.log10([0.11, 0.24, 0.52, 1.1])
    x2 = x + np.array([0.1, -0.2, 0.3, 0.0])
    lo, hi = max(x[0], x2[0]), min(x[-1], x2[-1])
    pa, pb = PchipInterpolator(x, y), PchipInterpolator(x2, y2)
    ia = integrate.quad(pa, lo, hi, points=list(x[1:-1]))[0]
    ib = integrate.quad(pb, lo, hi, points=list(x2[1:-1]))[0]
    expect = (10 ** ((ib - ia) / (hi - lo)) - 1) * 100
    assert bd_rate(10 ** y, x, 10 ** y2, x2) == pytest.approx(expect, abs=1e-9)


def test_bd_rate_pictures_mean_and_missing():
    a = [{"image": im, "qp": qp, "bpp": r, "psnr_y": p} for im in ("a", "b")
         for qp, r, p in zip((22, 27, 32, 37), (1.0, 0.5, 0.25, 0.12), (38.0, 34.5, 31.0, 28.0))]
    b = [dict(p, bpp=p["bpp"] * (0.9 if p["image"] == "a" else 1.2)) for p in a]
    mean, per = bd_rate_pictures(a, b)
    assert per["a"] == pytest.approx(-10.0, abs=1e-9) and per["b"] == pytest.approx(20.0, abs=1e-9)
    assert mean == pytest.approx(5.0, abs=1e-9)
    with pytest.raises(KeyError):
        bd_rate_pictures(a[:-1], b)
