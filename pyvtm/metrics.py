"""Quality metrics and Bjontegaard deltas.

* ``psnr(a, b, peak)``: PSNR between two arrays.
* ``bd_rate(rate_a, psnr_a, rate_b, psnr_b)``: average bitrate difference of
  curve B against anchor A at equal quality, in percent (negative = B needs
  fewer bits).
* ``bd_psnr(...)``: average quality difference at equal rate, in dB.
* ``psnr_ycbcr(ref, dist)``: 6:1:1 weighted PSNR of (Y, Cb, Cr) planes.
* ``ssim(a, b, data_range)`` / ``ms_ssim(a, b, data_range)``: single-scale
  SSIM and multi-scale SSIM (Wang, Simoncelli, Bovik 2003), numpy only.
* ``anchor_source_planes`` / ``anchor_metrics`` / ``bd_rate_pictures``: the
  exact source construction, metrics and BD-rate of the VTM/VVenC anchors
  (``shared/anchors/README.md``).

The Bjontegaard deltas follow the common JVET practice: log10 of the rate is
interpolated as a function of PSNR (or vice versa) with a piecewise cubic
Hermite interpolant (PCHIP, Fritsch-Carlson slopes: SciPy's
``PchipInterpolator``) through the measured points, and the two curves are
integrated exactly over the PSNR (rate) interval they share. With four points per curve this matches the piecewise-cubic variant
of the JVET BD-rate sheet; the classic VCEG-M33 cubic polynomial fit is
available with ``method="polyfit"``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["psnr", "psnr_ycbcr", "ssim", "ms_ssim", "MS_SSIM_WEIGHTS", "bd_rate", "bd_psnr",
           "pchip_interpolate", "anchor_source_planes", "anchor_rgb_from_planes", "anchor_metrics",
           "bd_rate_pictures", "ANCHOR_BD_QPS", "ANCHOR_PEAK_10BIT"]


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """PSNR in dB of ``b`` against ``a`` (inf when identical)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def _pchip(x, y):
    from scipy.interpolate import PchipInterpolator

    return PchipInterpolator(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                             extrapolate=True)


def pchip_interpolate(x: Sequence[float], y: Sequence[float], xi: np.ndarray) -> np.ndarray:
    """Monotone piecewise cubic Hermite interpolation of (x, y) at xi (x ascending).

    ``scipy.interpolate.PchipInterpolator`` (Fritsch-Carlson slopes, the
    three-point end conditions); outside [x0, xn] the end cubics are extended.
    """
    return np.asarray(_pchip(x, y)(np.asarray(xi, dtype=np.float64)), dtype=np.float64)


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
        # exact integral of the piecewise cubic (its antiderivative, scipy PPoly.integrate)
        return float(_pchip(xs, ys).integrate(lo, hi))
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


# ---------------------------------------------------------------------------
# Anchor-exact measurement (shared/anchors/README.md: VTM 23.13 all-intra,
# VVenC medium/faster RD points). Every codec gets the same 8-bit 4:2:0
# source; the 10-bit coding input is that source << 2.

#: QPs whose points enter the anchor BD-rates.
ANCHOR_BD_QPS = (22, 27, 32, 37)
#: Peak of the 10-bit PSNRs of the anchors (255 << 2).
ANCHOR_PEAK_10BIT = 1020.0


def _round_clip_u8(x: np.ndarray) -> np.ndarray:
    # numpy rounding (halves to even): the anchors were made this way, and it
    # matters: full-range BT.601 chroma of near-grey pixels lands on exact .5
    # ties (0.418688 + 0.081312 = 0.5), as do some luma values.
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _box_420(c: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block (odd edges replicated), as ``reshape(...).mean(axis=(1, 3))``."""
    h, w = c.shape
    if h & 1 or w & 1:
        c = np.pad(c, ((0, h & 1), (0, w & 1)), mode="edge")
    h, w = c.shape
    return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def anchor_source_planes(rgb) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-bit 4:2:0 source planes (Y, Cb, Cr) of an (H, W, 3) uint8 RGB picture.

    Full-range BT.601 in float64: Y = 0.299R + 0.587G + 0.114B,
    Cb = 128 - 0.168736R - 0.331264G + 0.5B, Cr = 128 + 0.5R - 0.418688G - 0.081312B;
    chroma is the 2x2 box average of the unrounded full-resolution chroma (odd
    edges replicated), then every plane is rounded (``np.round``: halves to
    even) and clipped to 0..255. With this construction VVenC reproduces the
    anchor streams bit for bit (``benchmarks/bench_vtm.py --check``); a
    handful of tie samples of Cr may still round the other way than the
    anchors' (PSNR-V within 1e-4 dB). Returns uint8 planes of shapes (H, W)
    and (ceil(H/2), ceil(W/2)).
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    f = rgb.astype(np.float64)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return _round_clip_u8(y), _round_clip_u8(_box_420(cb)), _round_clip_u8(_box_420(cr))


def _upsample2_centred(c: np.ndarray, axis: int) -> np.ndarray:
    """2x centre-aligned bilinear up-sampling along ``axis`` (taps 3/4, 1/4; edges replicated)."""
    n = c.shape[axis]
    idx = np.arange(n)
    prev = np.take(c, np.maximum(idx - 1, 0), axis=axis)
    nxt = np.take(c, np.minimum(idx + 1, n - 1), axis=axis)
    out = np.stack([0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt], axis=axis + 1)
    shape = list(c.shape)
    shape[axis] = 2 * n
    return out.reshape(shape)


def anchor_rgb_from_planes(y, cb, cr, bit_depth: int = 10) -> np.ndarray:
    """(H, W, 3) uint8 RGB of decoded 4:2:0 planes, as the anchors' PSNR-RGB computes it.

    Chroma is up-sampled 2x (centre-aligned bilinear, separable, in float),
    the full-range BT.601 inverse (R = Y + 1.402 Cr', G = Y - 0.344136 Cb' -
    0.714136 Cr', B = Y + 1.772 Cb', with Cb'/Cr' = C - 128 on the 8-bit
    scale) is applied to the samples divided by 2^(bit_depth - 8), and the
    result is rounded (``np.round``, halves to even) and clipped to 0..255.
    This reproduces the anchors' PSNR-RGB exactly.
    """
    s = float(1 << (bit_depth - 8))
    yf = np.asarray(y, dtype=np.float64) / s
    h, w = yf.shape
    up = [_upsample2_centred(_upsample2_centred(np.asarray(c, dtype=np.float64) / s - 128.0, 0), 1)[:h, :w]
          for c in (cb, cr)]
    cbf, crf = up
    r = yf + 1.402 * crf
    b = yf + 1.772 * cbf
    g = (yf - 0.299 * r - 0.114 * b) / 0.587    # = Y - 0.344136 Cb' - 0.714136 Cr'
    return _round_clip_u8(np.stack([r, g, b], axis=-1))


def anchor_metrics(rgb, source, decoded, nbytes: int) -> dict:
    """The anchors' metrics of one decoded picture.

    ``rgb``: the original (H, W, 3) uint8 picture; ``source``: its 8-bit
    (Y, Cb, Cr) planes (:func:`anchor_source_planes`); ``decoded``: the
    10-bit decoded (Y, Cb, Cr) planes (larger planes, e.g. padded to even,
    are cropped); ``nbytes``: the whole file size. Returns ``bpp`` (8 x
    bytes / (W x H)), ``psnr_y/u/v`` (10-bit, against source << 2, peak
    1020), ``psnr_yuv`` ((6Y + U + V) / 8) and ``psnr_rgb`` (peak 255).
    """
    h, w = source[0].shape
    dec = [np.asarray(d)[:s.shape[0], :s.shape[1]] for d, s in zip(decoded, source)]
    for d, s in zip(dec, source):
        if d.shape != s.shape:
            raise ValueError(f"decoded plane {d.shape} is smaller than the source plane {s.shape}")
    py, pu, pv = (psnr(s.astype(np.int32) << 2, d, ANCHOR_PEAK_10BIT) for s, d in zip(source, dec))
    rec = anchor_rgb_from_planes(*dec, bit_depth=10)
    return {"bits": 8 * int(nbytes), "bpp": 8.0 * nbytes / (w * h), "psnr_y": py, "psnr_u": pu,
            "psnr_v": pv, "psnr_yuv": (6.0 * py + pu + pv) / 8.0, "psnr_rgb": psnr(rgb, rec, 255.0)}


def bd_rate_pictures(anchor, test, metric: str = "psnr_y", qps=ANCHOR_BD_QPS,
                     rate: str = "bpp") -> tuple[float, dict]:
    """Mean per-picture BD-rate (%) of ``test`` against ``anchor``, as the anchors' README defines it.

    ``anchor``/``test``: iterables of point dicts with keys ``image``, ``qp``,
    ``rate`` and ``metric`` (the anchor JSON records). For each picture
    present in ``test`` the points at ``qps`` of both sides enter
    :func:`bd_rate` (PCHIP of log-rate over the overlapping PSNR range);
    returns (mean over pictures, {image: BD-rate}). KeyError when a picture
    or QP is missing on either side.
    """
    def index(points):
        d = {}
        for p in points:
            d[(p["image"], int(p["qp"]))] = p
        return d

    ia, it = index(anchor), index(test)
    images = sorted({img for img, _ in it})
    per = {}
    for img in images:
        pa, pt = [], []
        for qp in qps:
            for idx, out, who in ((ia, pa, "anchor"), (it, pt, "test")):
                if (img, qp) not in idx:
                    raise KeyError(f"{who} has no point for {img} at QP {qp}")
                out.append((idx[(img, qp)][rate], idx[(img, qp)][metric]))
        a, t = np.array(pa), np.array(pt)
        per[img] = float(bd_rate(a[:, 0], a[:, 1], t[:, 0], t[:, 1]))
    if not per:
        raise ValueError("no pictures to compare")
    return float(np.mean(list(per.values()))), per
