"""CNNIF: CNN in-loop filter made of dense residual units (DRU).

Network (:class:`CNNIFNet`, on normalised tensors)::

    f0 = ReLU(conv3x3(x))                         # M maps from the picture
    for unit i = 0..N-1:                          # dense residual unit
        u  = conv1x1(f_i)                         # (i+1)*M -> M, no activation
        h  = ReLU(conv3x3(u)); h = ReLU(conv3x3(h))   # K = 2 convs by default
        f_{i+1} = cat(f_i, u + h)                 # first + last conv output,
                                                  # concatenated with the input
    correction = conv3x3(f_N)                     # (N+1)*M -> out channels

``f_i`` therefore holds the first feature maps and the outputs of all
preceding units (DenseNet style); no batch norm anywhere. Presets
(:data:`PRESETS`): ``cnnif`` N=8, M=64 and ``cnnif_s`` N=2, M=32.

Codec-level filter (:class:`CNNIFilter`): takes and returns 10-bit 4:2:0
planes (float tensors in sample units, Y (B,1,H,W), Cb/Cr (B,1,H/2,W/2),
H and W even) and the slice QP, and adds the network's correction (global
residual learning): ``out = in + correction``. Channel layouts:

``yuv420``
    Luma is packed 2x2 -> 4 channels at chroma resolution
    (pixel_unshuffle) and stacked with Cb and Cr: 6 channels at H/2 x W/2;
    the 6 output channels are unpacked the same way. No resampling at all,
    and a quarter of the MACs per luma sample of the full-resolution layouts.
``yuv444``
    Y at full resolution with Cb/Cr nearest-upsampled: 3 channels at H x W.
    The Cb/Cr corrections are produced at full resolution and averaged over
    each 2x2 block.
``rgb`` (the shipped weights; the choice and its measurements: docs/cnn_tools.md)
    Like ``yuv444`` but converted to R'G'B' (BT.601 full range,
    :mod:`pyvtm.colour`) before the network; the RGB correction is converted
    back to YCbCr (the conversion is linear, so the output is
    ``in + M^-1 * correction``).

Normalisation: samples are mapped to ``v / 1023 - 0.5`` (Cb/Cr
``(v - 512) / 1023``); with ``qp_input`` a constant plane ``qp / 63`` is an
extra input channel. The correction is predicted in the same units and
scaled back by 1023. The output is not rounded: the codec rounds with
``floor(v + 0.5)`` and clips to 0..1023 (:func:`apply_filter`, and the C++
hook in patches/cnn_hooks.cpp).

Large pictures are filtered in tiles of ``tile`` x ``tile`` luma samples
with a margin (a multiple of 8, at least the receptive field radius) so
that memory stays bounded; the tiling is part of the scripted module, so
Python and C++ run exactly the same computation.
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["PRESETS", "LAYOUTS", "DenseResidualUnit", "CNNIFNet", "CNNIFilter", "cnnif", "cnnif_s",
           "apply_filter", "dru_parameter_count"]

PRESETS: Dict[str, Dict[str, int]] = {
    "cnnif": {"num_units": 8, "channels": 64},
    "cnnif_s": {"num_units": 2, "channels": 32},
}
LAYOUTS = ("yuv420", "yuv444", "rgb")

# BT.601 full range (pyvtm.colour): RGB = A @ (Y, Cb-512, Cr-512)
_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
_CR_R = 2.0 * (1.0 - _KR)             # 1.402
_CB_B = 2.0 * (1.0 - _KB)             # 1.772
_CB_G = -_KB * _CB_B / _KG            # -0.344136...
_CR_G = -_KR * _CR_R / _KG            # -0.714136...


class DenseResidualUnit(nn.Module):
    """1x1 conv (no activation) -> K x [3x3 conv + ReLU]; the outputs of the
    first (1x1) and last conv are added and the sum is concatenated with the
    unit's input."""

    def __init__(self, in_channels: int, channels: int, convs: int = 2):
        super().__init__()
        if convs < 1:
            raise ValueError("a dense residual unit needs at least one 3x3 conv")
        self.reduce = nn.Conv2d(in_channels, channels, 1)
        self.convs = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in range(convs)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.reduce(x)
        h = u
        for conv in self.convs:
            h = F.relu(conv(h))
        return torch.cat([x, u + h], dim=1)


class CNNIFNet(nn.Module):
    """The DRU network on normalised tensors: (B, in, h, w) -> (B, out, h, w)."""

    def __init__(self, in_channels: int, out_channels: int, num_units: int, channels: int,
                 convs_per_unit: int = 2):
        super().__init__()
        self.head = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.units = nn.ModuleList([
            DenseResidualUnit((i + 1) * channels, channels, convs_per_unit) for i in range(num_units)])
        self.tail = nn.Conv2d((num_units + 1) * channels, out_channels, 3, padding=1)
        # Start as the identity filter (zero correction).
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = F.relu(self.head(x))
        for unit in self.units:
            f = unit(f)
        return self.tail(f)


def dru_parameter_count(in_channels: int, out_channels: int, num_units: int, channels: int,
                        convs_per_unit: int = 2) -> int:
    """Closed form of the parameter count of :class:`CNNIFNet` (weights + biases)."""
    M, N, K = channels, num_units, convs_per_unit
    head = 9 * in_channels * M + M
    units = sum((i + 1) * M * M + M for i in range(N)) + N * K * (9 * M * M + M)
    tail = 9 * (N + 1) * M * out_channels + out_channels
    return head + units + tail


class CNNIFilter(nn.Module):
    """Codec-level CNN in-loop filter (see the module docstring).

    ``forward(y, cb, cr, qp)``: float tensors in 10-bit sample units, Y
    (B,1,H,W), Cb/Cr (B,1,H/2,W/2), qp (B,) -> filtered (y, cb, cr), same
    shapes, unrounded.
    """

    def __init__(self, preset: str = "cnnif_s", layout: str = "rgb", qp_input: bool = True,
                 num_units: int = -1, channels: int = -1, convs_per_unit: int = 2, tile: int = 256):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; one of {LAYOUTS}")
        if preset in PRESETS:
            p = PRESETS[preset]
            num_units = p["num_units"] if num_units < 0 else num_units
            channels = p["channels"] if channels < 0 else channels
        elif num_units < 0 or channels < 0:
            raise ValueError(f"unknown preset {preset!r}; one of {sorted(PRESETS)} (or give num_units/channels)")
        if tile % 8:
            raise ValueError("tile must be a multiple of 8")
        self.preset = preset
        self.layout = layout
        self.qp_input = qp_input
        self.num_units = num_units
        self.channels = channels
        self.convs_per_unit = convs_per_unit
        planes = 6 if layout == "yuv420" else 3
        self.in_channels = planes + (1 if qp_input else 0)
        self.out_channels = planes
        self.net = CNNIFNet(self.in_channels, self.out_channels, num_units, channels, convs_per_unit)
        # Receptive field radius in network samples: head 1, each unit K, tail 1.
        rf = 2 + num_units * convs_per_unit
        if layout == "yuv420":
            rf = 2 * rf + 2  # the network runs at chroma resolution (+ the 2x2 packing)
        self.receptive_radius = rf
        self.margin = int(math.ceil(rf / 8.0)) * 8
        self.tile = tile

    # -- layout conversions -------------------------------------------------
    def _to_input(self, y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor, qp: torch.Tensor) -> torch.Tensor:
        s = 1.0 / 1023.0
        if self.layout == "yuv420":
            x = torch.cat([F.pixel_unshuffle(y, 2) * s - 0.5, (cb - 512.0) * s, (cr - 512.0) * s], dim=1)
        else:
            cbu = F.interpolate(cb - 512.0, scale_factor=2.0, mode="nearest")
            cru = F.interpolate(cr - 512.0, scale_factor=2.0, mode="nearest")
            if self.layout == "rgb":
                # literals: TorchScript does not read module globals (_CR_R, ...)
                r = y + 1.402 * cru
                g = y - 0.3441362862010221 * cbu - 0.7141362862010221 * cru
                b = y + 1.772 * cbu
                x = torch.cat([r, g, b], dim=1) * s - 0.5
            else:
                x = torch.cat([y * s - 0.5, cbu * s, cru * s], dim=1)
        if self.qp_input:
            q = (qp.to(x.dtype) / 63.0).view(-1, 1, 1, 1).expand(x.shape[0], 1, x.shape[2], x.shape[3])
            x = torch.cat([x, q], dim=1)
        return x

    def _from_output(self, d: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d = d * 1023.0
        if self.layout == "yuv420":
            return F.pixel_shuffle(d[:, 0:4], 2), d[:, 4:5], d[:, 5:6]
        if self.layout == "rgb":
            dr, dg, db = d[:, 0:1], d[:, 1:2], d[:, 2:3]
            dy = 0.299 * dr + 0.587 * dg + 0.114 * db
            dcb = (db - dy) / 1.772
            dcr = (dr - dy) / 1.402
        else:
            dy, dcb, dcr = d[:, 0:1], d[:, 1:2], d[:, 2:3]
        return dy, F.avg_pool2d(dcb, 2), F.avg_pool2d(dcr, 2)

    def correction(self, y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor,
                   qp: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The (untiled) correction in 10-bit sample units."""
        return self._from_output(self.net(self._to_input(y, cb, cr, qp)))

    def forward(self, y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor,
                qp: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        H, W = y.shape[2], y.shape[3]
        T, Mg = self.tile, self.margin
        if H <= T + 2 * Mg and W <= T + 2 * Mg:
            dy, dcb, dcr = self.correction(y, cb, cr, qp)
            return y + dy, cb + dcb, cr + dcr
        oy = torch.empty_like(y)
        ocb = torch.empty_like(cb)
        ocr = torch.empty_like(cr)
        for ty in range(0, H, T):
            for tx in range(0, W, T):
                y0, x0 = max(ty - Mg, 0), max(tx - Mg, 0)
                y1, x1 = min(ty + T + Mg, H), min(tx + T + Mg, W)
                ey, ex = min(ty + T, H), min(tx + T, W)
                ty_, tcb, tcr = y[:, :, y0:y1, x0:x1], cb[:, :, y0 // 2:y1 // 2, x0 // 2:x1 // 2], \
                    cr[:, :, y0 // 2:y1 // 2, x0 // 2:x1 // 2]
                dy, dcb, dcr = self.correction(ty_, tcb, tcr, qp)
                oy[:, :, ty:ey, tx:ex] = ty_[:, :, ty - y0:ey - y0, tx - x0:ex - x0] + \
                    dy[:, :, ty - y0:ey - y0, tx - x0:ex - x0]
                a, b, c, d = (ty - y0) // 2, (ey - y0) // 2, (tx - x0) // 2, (ex - x0) // 2
                ocb[:, :, ty // 2:ey // 2, tx // 2:ex // 2] = tcb[:, :, a:b, c:d] + dcb[:, :, a:b, c:d]
                ocr[:, :, ty // 2:ey // 2, tx // 2:ex // 2] = tcr[:, :, a:b, c:d] + dcr[:, :, a:b, c:d]
        return oy, ocb, ocr

    def config(self) -> Dict[str, object]:
        return {"preset": self.preset, "layout": self.layout, "qp_input": self.qp_input,
                "num_units": self.num_units, "channels": self.channels,
                "convs_per_unit": self.convs_per_unit, "tile": self.tile}

    def macs_per_luma_sample(self) -> float:
        """Multiply-accumulates of the network per luma sample (no tiling overlap)."""
        M, N, K = self.channels, self.num_units, self.convs_per_unit
        per = 9 * self.in_channels * M + sum((i + 1) * M * M for i in range(N)) + N * K * 9 * M * M \
            + 9 * (N + 1) * M * self.out_channels
        return per / 4.0 if self.layout == "yuv420" else float(per)


def cnnif(**kw) -> CNNIFilter:
    """The ``cnnif`` preset (N=8 units, M=64 maps)."""
    return CNNIFilter("cnnif", **kw)


def cnnif_s(**kw) -> CNNIFilter:
    """The ``cnnif_s`` preset (N=2 units, M=32 maps)."""
    return CNNIFilter("cnnif_s", **kw)


class _OneThread:
    """Run torch on one intra-op thread (deterministic, like the C++ hooks)."""

    def __enter__(self):
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)
        return False


def apply_filter(module, y, cb, cr, qp: int, *, one_thread: bool = True):
    """Filter 10-bit planes (numpy uint16 or integer arrays) with ``module``
    (a :class:`CNNIFilter` or its TorchScript export) exactly as the C++
    hook does: float32, no autograd, one thread, ``floor(v + 0.5)`` clipped
    to 0..1023. Returns three uint16 numpy arrays.
    """
    import numpy as np

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]

    ctx = _OneThread() if one_thread else None
    if ctx is not None:
        ctx.__enter__()
    try:
        with torch.inference_mode():
            out = module(t(y), t(cb), t(cr), torch.tensor([float(qp)], dtype=torch.float32))
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)
    return tuple(torch.clamp(torch.floor(o[0, 0] + 0.5), 0, 1023).to(torch.int32).numpy().astype(np.uint16)
                 for o in out)
