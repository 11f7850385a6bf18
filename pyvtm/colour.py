"""RGB <-> YCbCr conversion used by pyvtm.

The conversion is fixed and is signalled in the bitstream's VUI:

* Matrix: BT.601 (ITU-T H.273 ``matrix_coeffs = 5``), full range
  (``video_full_range_flag = 1``), with Kr = 0.299, Kb = 0.114.
* Forward (8-bit RGB in, 10-bit YCbCr out). With R, G, B the 8-bit values
  multiplied by 4 (10-bit scale, 0..1020), computed in float64::

      Y  = 0.299 R + 0.587 G + 0.114 B
      Cb = (B - Y) / 1.772 + 512
      Cr = (R - Y) / 1.402 + 512

  Every value is rounded half up (``floor(x + 0.5)``) and clipped to 0..1023.
  White (255, 255, 255) gives (1020, 512, 512); black gives (0, 512, 512).
* Chroma format 4:2:0 with centred chroma siting (H.273
  ``chroma_sample_loc_type = 1``, the "MPEG-1"/JPEG position): each Cb/Cr
  sample is the mean of the unrounded full-resolution chroma of its 2x2 luma
  block, rounded once. An odd width or height is padded by repeating the last
  column/row, so the chroma planes are ``ceil(H/2) x ceil(W/2)``.
* Inverse (10-bit YCbCr in, 8-bit RGB out): chroma is upsampled to the luma
  size, by default (``upsample="bilinear"``) with the bilinear filter that
  matches centred siting: luma sample 2k lies at chroma position k - 1/4 and
  2k+1 at k + 1/4, so the weights are 3/4 and 1/4 (applied separably,
  horizontally then vertically, edges replicated). ``upsample="nearest"``
  copies each chroma sample back to the 2x2 block it was averaged from (the
  exact inverse for block-constant chroma). Then::

      R = Y + 1.402 (Cr - 512)
      B = Y + 1.772 (Cb - 512)
      G = (Y - 0.299 R - 0.114 B) / 0.587

  and R, G, B are divided by 4, rounded half up and clipped to 0..255.

Both directions are vectorised with numpy.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rgb_to_ycbcr", "ycbcr_to_rgb", "KR", "KB", "BIT_DEPTH"]

KR = 0.299
KB = 0.114
KG = 1.0 - KR - KB
BIT_DEPTH = 10
_SCALE = 1 << (BIT_DEPTH - 8)  # 8-bit -> 10-bit
_OFFSET = 1 << (BIT_DEPTH - 1)  # 512
_MAXVAL = (1 << BIT_DEPTH) - 1  # 1023
_CB_DIV = 2.0 * (1.0 - KB)  # 1.772
_CR_DIV = 2.0 * (1.0 - KR)  # 1.402


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _check_rgb(rgb) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise TypeError(f"RGB image must be uint8, got dtype {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"RGB image must have shape (H, W, 3), got {rgb.shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"RGB image is empty (shape {rgb.shape})")
    return rgb


def _subsample_420(c: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block (odd edges padded by replication)."""
    h, w = c.shape
    ph, pw = h & 1, w & 1
    if ph or pw:
        c = np.pad(c, ((0, ph), (0, pw)), mode="edge")
    return 0.25 * (c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2])


def rgb_to_ycbcr(rgb) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert an (H, W, 3) uint8 RGB image to 10-bit 4:2:0 planes.

    Returns ``(Y, Cb, Cr)`` as uint16 arrays of shapes (H, W),
    (ceil(H/2), ceil(W/2)) and (ceil(H/2), ceil(W/2)). See the module
    docstring for the exact formulas (BT.601, full range, centred siting).
    """
    rgb = _check_rgb(rgb)
    f = rgb.astype(np.float64) * _SCALE
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = KR * r + KG * g + KB * b
    cb = (b - y) / _CB_DIV + _OFFSET
    cr = (r - y) / _CR_DIV + _OFFSET

    def q(x: np.ndarray) -> np.ndarray:
        return np.clip(_round_half_up(x), 0, _MAXVAL).astype(np.uint16)

    return q(y), q(_subsample_420(cb)), q(_subsample_420(cr))


def _upsample_nearest(c: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)[:h, :w]


def _upsample_bilinear_1d(c: np.ndarray, axis: int) -> np.ndarray:
    # Centred siting: luma sample 2k sits at chroma position k - 1/4, 2k+1 at k + 1/4.
    n = c.shape[axis]
    idx = np.arange(n)
    prev = np.take(c, np.maximum(idx - 1, 0), axis=axis)
    nxt = np.take(c, np.minimum(idx + 1, n - 1), axis=axis)
    even = 0.75 * c + 0.25 * prev
    odd = 0.75 * c + 0.25 * nxt
    out = np.stack([even, odd], axis=axis + 1)
    shape = list(c.shape)
    shape[axis] = 2 * n
    return out.reshape(shape)


def _upsample_bilinear(c: np.ndarray, h: int, w: int) -> np.ndarray:
    c = _upsample_bilinear_1d(c, 0)
    c = _upsample_bilinear_1d(c, 1)
    return c[:h, :w]


def ycbcr_to_rgb(y, cb, cr, *, upsample: str = "bilinear") -> np.ndarray:
    """Convert 10-bit 4:2:0 planes back to an (H, W, 3) uint8 RGB image.

    ``y`` is (H, W); ``cb``/``cr`` are (ceil(H/2), ceil(W/2)), any integer
    dtype holding 10-bit values. ``upsample`` is ``"bilinear"`` (centred-siting
    bilinear, default) or ``"nearest"`` (sample replication).
    """
    y = np.asarray(y)
    cb = np.asarray(cb)
    cr = np.asarray(cr)
    if y.ndim != 2 or y.size == 0:
        raise ValueError(f"Y plane must be a non-empty 2-D array, got shape {y.shape}")
    h, w = y.shape
    cshape = ((h + 1) // 2, (w + 1) // 2)
    if cb.shape != cshape or cr.shape != cshape:
        raise ValueError(f"chroma planes must have shape {cshape} for a {h}x{w} luma plane, "
                         f"got {cb.shape} and {cr.shape}")
    if upsample == "nearest":
        up = _upsample_nearest
    elif upsample == "bilinear":
        up = _upsample_bilinear
    else:
        raise ValueError(f"upsample must be 'nearest' or 'bilinear', got {upsample!r}")
    yf = y.astype(np.float64)
    cbf = up(cb.astype(np.float64) - _OFFSET, h, w)
    crf = up(cr.astype(np.float64) - _OFFSET, h, w)
    r = yf + _CR_DIV * crf
    b = yf + _CB_DIV * cbf
    g = (yf - KR * r - KB * b) / KG
    rgb = np.stack([r, g, b], axis=-1) / _SCALE
    return np.clip(_round_half_up(rgb), 0, 255).astype(np.uint8)
