"""pyvtm.metrics: PSNR, 6:1:1 YCbCr PSNR, BD-rate/BD-PSNR, SSIM and MS-SSIM."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pyvtm.metrics import (MS_SSIM_WEIGHTS, bd_psnr, bd_rate, ms_ssim, psnr, psnr_ycbcr, ssim)

RATES = np.array([0.12, 0.25, 0.5, 1.0])
PSNRS = np.array([28.0, 31.0, 34.5, 38.0])


# --- PSNR -------------------------------------------------------------------

def test_psnr_known_values():
    a = np.zeros((4, 4), dtype=np.uint8)
    b = a + 1                                    # MSE 1
    assert psnr(a, b, 255) == pytest.approx(20 * math.log10(255), abs=1e-12)   # 48.1308...
    c = a.copy()
    c[0, 0] = 4                                   # MSE 16/16 = 1 as well
    assert psnr(a, c, 255) == pytest.approx(48.130803608679, abs=1e-9)
    d = np.full((2, 2), 10.0)
    e = np.array([[10.0, 12.0], [8.0, 10.0]])     # MSE (4 + 4) / 4 = 2
    assert psnr(d, e, 1023) == pytest.approx(10 * math.log10(1023 ** 2 / 2), abs=1e-12)
    assert psnr(a, a, 255) == math.inf
    with pytest.raises(ValueError):
        psnr(a, np.zeros((4, 5)), 255)


def test_psnr_ycbcr_611_weighting():
    y = np.zeros((4, 4), dtype=np.uint16)
    c = np.zeros((2, 2), dtype=np.uint16)
    # Y: MSE 1 -> 60.198 dB; Cb: MSE 4 -> 54.178 dB; Cr: MSE 16 -> 48.158 dB (peak 1023)
    ref = (y, c, c)
    dist = (y + 1, c + 2, c + 4)
    py = 20 * math.log10(1023)
    expected = (6 * py + (py - 10 * math.log10(4)) + (py - 10 * math.log10(16))) / 8
    assert psnr_ycbcr(ref, dist) == pytest.approx(expected, abs=1e-12)
    assert psnr_ycbcr(ref, dist) == pytest.approx(py - 10 * math.log10(4) * 3 / 8, abs=1e-12)
    with pytest.raises(ValueError):
        psnr_ycbcr((y, c), dist)


# --- Bjontegaard --------------------------------------------------------------

@pytest.mark.parametrize("method", ["pchip", "polyfit"])
def test_bd_rate_of_rate_scaled_curve_is_exact(method):
    assert bd_rate(RATES, PSNRS, 0.9 * RATES, PSNRS, method=method) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate(RATES, PSNRS, 1.25 * RATES, PSNRS, method=method) == pytest.approx(25.0, abs=1e-9)
    assert bd_rate(RATES, PSNRS, RATES, PSNRS, method=method) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", ["pchip", "polyfit"])
def test_bd_psnr_of_shifted_curve_is_exact(method):
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS + 0.5, method=method) == pytest.approx(0.5, abs=1e-9)
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS - 1.25, method=method) == pytest.approx(-1.25, abs=1e-9)


def test_bd_rate_errors():
    with pytest.raises(ValueError):
        bd_rate(RATES, PSNRS, RATES, PSNRS + 20)      # no overlap
    with pytest.raises(ValueError):
        bd_rate(-RATES, PSNRS, RATES, PSNRS)


# --- SSIM / MS-SSIM -------------------------------------------------------------

def _pair(shape, seed=0, noise=12.0):
    rng = np.random.default_rng(seed)
    # smooth-ish content (so that the structure terms are not trivial) plus noise
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    base = 128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 20, shape[:2])
    if len(shape) == 3:
        base = np.stack([base + 10 * k for k in range(shape[2])], axis=-1)
    a = np.clip(base, 0, 255).astype(np.uint8)
    b = np.clip(a + rng.normal(0, noise, a.shape), 0, 255).astype(np.uint8)
    return a, b


def _ref_ms_ssim(a, b, peak):
    """Independent path: non-separable 2-D window sums by shifted slices."""
    k = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    k2 = np.outer(k, k)
    k2 /= k2.sum()

    def filt(x):
        h, w = x.shape
        out = np.zeros((h - 10, w - 10))
        for i in range(11):
            for j in range(11):
                out += k2[i, j] * x[i:i + h - 10, j:j + w - 10]
        return out

    def down(x):
        h, w = x.shape
        x = np.pad(x, ((0, h % 2), (0, w % 2)), mode="edge")
        return x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean(axis=(1, 3))

    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    x, y = a.astype(np.float64), b.astype(np.float64)
    res = 1.0
    for s, wgt in enumerate(MS_SSIM_WEIGHTS):
        mx, my = filt(x), filt(y)
        vx, vy, cxy = filt(x * x) - mx ** 2, filt(y * y) - my ** 2, filt(x * y) - mx * my
        cs = (2 * cxy + c2) / (vx + vy + c2)
        if s < 4:
            res *= max(cs.mean(), 0.0) ** wgt
            x, y = down(x), down(y)
        else:
            lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
            res *= max((lum * cs).mean(), 0.0) ** wgt
    return res


def test_ms_ssim_identical_is_one():
    a, _ = _pair((180, 200, 3))
    assert ms_ssim(a, a, 255) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, 255) == pytest.approx(1.0, abs=1e-12)


def test_ms_ssim_constant_images_closed_form():
    # Flat images: every contrast-structure term is exactly 1 (sigma = 0), so
    # MS-SSIM = l^w5 with l = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1), C1 = (0.01 * 255)^2.
    a = np.full((176, 176), 100, dtype=np.uint8)
    b = np.full((176, 176), 110, dtype=np.uint8)
    lum = (2 * 100 * 110 + 6.5025) / (100 ** 2 + 110 ** 2 + 6.5025)
    assert ms_ssim(a, b, 255) == pytest.approx(lum ** 0.1333, abs=1e-12)   # 0.999396...
    assert ms_ssim(a, b, 255) == pytest.approx(0.9993962, abs=1e-6)


def test_ms_ssim_matches_independent_implementation():
    a, b = _pair((171, 190))
    v = ms_ssim(a, b, 255)
    assert 0.5 < v < 1.0
    assert v == pytest.approx(_ref_ms_ssim(a, b, 255), abs=1e-10)
    # RGB: the mean of the per-channel values
    a3, b3 = _pair((170, 170, 3), seed=3, noise=25)
    expect = np.mean([_ref_ms_ssim(a3[..., c], b3[..., c], 255) for c in range(3)])
    assert ms_ssim(a3, b3, 255) == pytest.approx(expect, abs=1e-10)
    # monotone in the distortion
    _, b_worse = _pair((171, 190), noise=30)
    assert ms_ssim(a, b_worse, 255) < v


def test_ms_ssim_too_small_raises():
    a, b = _pair((160, 300))
    with pytest.raises(ValueError, match="161"):
        ms_ssim(a, b, 255)


def test_ssim_matches_skimage():
    skm = pytest.importorskip("skimage.metrics")
    for shape, seed in (((40, 57), 1), ((64, 64, 3), 2)):
        a, b = _pair(shape, seed=seed, noise=18)
        kw = dict(data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        if len(shape) == 3:
            kw["channel_axis"] = 2
        assert ssim(a, b, 255) == pytest.approx(skm.structural_similarity(a, b, **kw), abs=1e-10)
