"""Quality metrics and Bjontegaard deltas.

* ``psnr(a, b, peak)``: PSNR between two arrays.
* ``bd_rate(rate_a, psnr_a, rate_b, psnr_b)``: average bitrate difference of
  curve B against anchor A at equal quality, in percent (negative = B needs
  fewer bits).
* ``bd_psnr(...)``: average quality difference at equal rate, in dB.
* ``psnr_ycbcr(ref, dist)``: 6:1:1 weighted PSNR of (Y, Cb, Cr) planes.
* ``ssim(a, b, data_range)`` / ``ms_ssim(a, b, data_range)``: single-scale
  SSIM and multi-scale SSIM (Wang, Simoncelli, Bovik 2003), numpy only.

The Bjontegaard deltas follow the common JVET practice: log10 of the rate is
interpolated as a function of PSNR (or vice versa) with a piecewise cubic
Hermite interpolant (PCHIP, Fritsch-Carlson slopes) through the measured
points, and the two curves are integrated over the PSNR (rate) interval they
share. With four points per curve this matches the piecewise-cubic variant
of the JVET BD-rate sheet; the classic VCEG-M33 cubic polynomial fit is
available with ``method="polyfit"``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["psnr", "psnr_ycbcr", "ssim", "ms_ssim", "MS_SSIM_WEIGHTS", "bd_rate", "bd_psnr",
           "pchip_interpolate"]


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """PSNR in dB of ``b`` against ``a`` (inf when identical)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h = np.diff(x)
    delta = np.diff(y) / h
    n = len(x)
    d = np.zeros(n)
    if n == 2:
        d[:] = delta[0]
        return d
    for k in range(1, n - 1):
        if delta[k - 1] * delta[k] <= 0:
            d[k] = 0.0
        else:
            w1 = 2 * h[k] + h[k - 1]
            w2 = h[k] + 2 * h[k - 1]
            d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])

    def end(h0, h1, d0, d1):
        s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(s) != np.sign(d0):
            return 0.0
        if np.sign(d0) != np.sign(d1) and abs(s) > abs(3 * d0):
            return 3 * d0
        return s

    d[0] = end(h[0], h[1], delta[0], delta[1])
    d[-1] = end(h[-1], h[-2], delta[-1], delta[-2])
    return d


def pchip_interpolate(x: Sequence[float], y: Sequence[float], xi: np.ndarray) -> np.ndarray:
    """Monotone piecewise cubic Hermite interpolation of (x, y) at xi (x ascending)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d = _pchip_slopes(x, y)
    xi = np.asarray(xi, dtype=np.float64)
    k = np.clip(np.searchsorted(x, xi, side="right") - 1, 0, len(x) - 2)
    h = x[k + 1] - x[k]
    t = (xi - x[k]) / h
    h00 = (1 + 2 * t) * (1 - t) ** 2
    h10 = t * (1 - t) ** 2
    h01 = t * t * (3 - 2 * t)
    h11 = t * t * (t - 1)
    return h00 * y[k] + h10 * h * d[k] + h01 * y[k + 1] + h11 * h * d[k + 1]


def _curve(xs, ys):
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1 or len(xs) < 2:
        raise ValueError("each curve needs at least two (rate, psnr) points of equal count")
    if not np.all(np.isfinite(xs)) or not np.all(np.isfinite(ys)):
        raise ValueError("rates and PSNRs must be finite")
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if np.any(np.diff(xs) <= 0):
        raise ValueError("curve points must have distinct abscissae")
    return xs, ys


def _integral(xs, ys, lo, hi, method):
    if method == "pchip":
        grid = np.linspace(lo, hi, 20001)
        vals = pchip_interpolate(xs, ys, grid)
        return float(np.sum((vals[1:] + vals[:-1]) * 0.5 * np.diff(grid)))
    if method == "polyfit":
        deg = min(3, len(xs) - 1)
        p = np.polyint(np.polyfit(xs, ys, deg))
        return float(np.polyval(p, hi) - np.polyval(p, lo))
    raise ValueError(f"unknown method {method!r}")


def _delta(x_a, y_a, x_b, y_b, method):
    xa, ya = _curve(x_a, y_a)
    xb, yb = _curve(x_b, y_b)
    lo, hi = max(xa[0], xb[0]), min(xa[-1], xb[-1])
    if hi <= lo:
        raise ValueError("the two curves do not overlap")
    return (_integral(xb, yb, lo, hi, method) - _integral(xa, ya, lo, hi, method)) / (hi - lo)


def bd_rate(rate_a, psnr_a, rate_b, psnr_b, method: str = "pchip") -> float:
    """Bjontegaard delta rate of B against anchor A, in percent."""
    if np.any(np.asarray(rate_a) <= 0) or np.any(np.asarray(rate_b) <= 0):
        raise ValueError("rates must be positive")
    d = _delta(psnr_a, np.log10(rate_a), psnr_b, np.log10(rate_b), method)
    return (10.0 ** d - 1.0) * 100.0


def bd_psnr(rate_a, psnr_a, rate_b, psnr_b, method: str = "pchip") -> float:
    """Bjontegaard delta PSNR of B against anchor A, in dB."""
    if np.any(np.asarray(rate_a) <= 0) or np.any(np.asarray(rate_b) <= 0):
        raise ValueError("rates must be positive")
    return _delta(np.log10(rate_a), psnr_a, np.log10(rate_b), psnr_b, method)


# ---------------------------------------------------------------------------
# YCbCr-weighted PSNR


def psnr_ycbcr(ref, dist, peak: float = 1023.0, weights=(6.0, 1.0, 1.0)) -> float:
    """Weighted PSNR of planar YCbCr: ``(6 PSNR_Y + PSNR_Cb + PSNR_Cr) / 8``.

    ``ref`` and ``dist`` are (Y, Cb, Cr) tuples of equally shaped planes
    (10-bit by default: ``peak`` 1023). The 6:1:1 weighting is the one common
    in JVET/MPEG reporting for 4:2:0 content. Infinite when a plane is
    identical.
    """
    if len(ref) != 3 or len(dist) != 3:
        raise ValueError("ref and dist must be (Y, Cb, Cr) tuples of three planes")
    vals = [psnr(r, d, peak) for r, d in zip(ref, dist)]
    w = np.asarray(weights, dtype=np.float64)
    return float(np.dot(w, vals) / w.sum())


# ---------------------------------------------------------------------------
# SSIM / MS-SSIM

#: Per-scale exponents of MS-SSIM (Wang et al. 2003), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_SSIM_K1 = 0.01
_SSIM_K2 = 0.03
_WIN = 11
_SIGMA = 1.5


def _gaussian_1d(size: int = _WIN, sigma: float = _SIGMA) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D array with the 1-D kernel g (rows, then columns)."""
    from numpy.lib.stride_tricks import sliding_window_view

    n = len(g)
    x = sliding_window_view(x, n, axis=1) @ g           # (H, W-n+1)
    return sliding_window_view(x, n, axis=0) @ g        # (H-n+1, W-n+1)


def _ssim_maps(x: np.ndarray, y: np.ndarray, data_range: float):
    """Mean SSIM and mean contrast-structure term of two 2-D float arrays."""
    g = _gaussian_1d()
    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    mu_x = _filter_valid(x, g)
    mu_y = _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mu_x * mu_x
    syy = _filter_valid(y * y, g) - mu_y * mu_y
    sxy = _filter_valid(x * y, g) - mu_x * mu_y
    cs = (2.0 * sxy + c2) / (sxx + syy + c2)
    lum = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def _downsample2(x: np.ndarray) -> np.ndarray:
    """2x2 box average then decimation (odd edges replicated), as in Wang's reference code."""
    h, w = x.shape
    if h & 1 or w & 1:
        x = np.pad(x, ((0, h & 1), (0, w & 1)), mode="edge")
    return 0.25 * (x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2])


def _channels(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.ndim == 2:
        return [a], [b]
    if a.ndim == 3:
        return [a[..., c] for c in range(a.shape[2])], [b[..., c] for c in range(b.shape[2])]
    raise ValueError(f"expected a 2-D (H, W) or 3-D (H, W, C) image, got shape {a.shape}")


def ssim(a, b, data_range: float = 255.0) -> float:
    """Mean SSIM (Wang et al. 2004) with an 11x11 Gaussian window (sigma 1.5).

    K1 = 0.01, K2 = 0.03, population (not sample) statistics, averaged over
    the 'valid' window positions (no padding); for (H, W, C) images the mean
    over channels. Matches ``skimage.metrics.structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``.
    """
    xs, ys = _channels(a, b)
    if min(xs[0].shape) < _WIN:
        raise ValueError(f"SSIM needs images of at least {_WIN}x{_WIN} pixels, got {xs[0].shape}")
    return float(np.mean([_ssim_maps(x, y, data_range)[0] for x, y in zip(xs, ys)]))


def ms_ssim(a, b, data_range: float = 255.0, weights=MS_SSIM_WEIGHTS) -> float:
    """Multi-scale SSIM (Wang, Simoncelli, Bovik, Asilomar 2003).

    ``a``/``b``: (H, W) or (H, W, C) arrays (C channels are scored separately
    and averaged, e.g. RGB), ``data_range`` the peak value (255 for 8-bit,
    1023 for 10-bit). Five scales with the standard exponents
    :data:`MS_SSIM_WEIGHTS`; each scale uses the 11x11 Gaussian window
    (sigma 1.5, 'valid' positions), K1 = 0.01, K2 = 0.03; between scales the
    image is low-passed with a 2x2 box filter and decimated by 2 (the
    reference implementation). MS-SSIM = prod_j cs_j^w_j (j < M) *
    ssim_M^w_M; negative terms are clamped to 0 before the power. The
    coarsest scale must still hold one 11x11 window, so both sides must be
    at least 161 pixels (five scales); ValueError otherwise.
    """
    xs, ys = _channels(a, b)
    m = len(weights)
    need = (_WIN - 1) * 2 ** (m - 1) + 1
    h, w = xs[0].shape
    if min(h, w) < need:
        raise ValueError(f"MS-SSIM with {m} scales needs images of at least {need}x{need} pixels, "
                         f"got {w}x{h}")
    wts = np.asarray(weights, dtype=np.float64)
    out = []
    for x, y in zip(xs, ys):
        vals = []
        for j in range(m):
            s, cs = _ssim_maps(x, y, data_range)
            vals.append(s if j == m - 1 else cs)
            if j < m - 1:
                x, y = _downsample2(x), _downsample2(y)
        v = np.maximum(np.asarray(vals), 0.0)
        out.append(float(np.prod(v ** wts)))
    return float(np.mean(out))
