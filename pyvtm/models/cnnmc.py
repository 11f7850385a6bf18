"""CNNMC: CNN most-probable-mode predictor, run once per 128x128 CTU.

Input (the causal neighbourhood of the CTU, ``CtuNeighbourhood`` in
cpp/hooks.h), index 0 = above, 1 = left, 2 = above-left:

* ``recon``: (B, 3, 128, 128) float, the 10-bit luma reconstruction of the
  three neighbour CTUs before in-loop filtering (512 where unavailable);
* ``modes``: (B, 3, 32, 32) int64, their luma intra modes on the 4x4 grid,
  0..66, 255 = unavailable / not intra;
* ``available``: (B, 3) float, 1 for an available neighbour CTU.

The three blocks and the (empty) current CTU are laid out as a 256x256
canvas (above-left | above / left | current). Luma is normalised to
``(v - 512) / 1023`` (0 where unavailable) and packed 4x4 -> 16 channels on
the 64x64 grid of 4x4 units; each unit's mode is embedded (68 entries, the
last one for "unavailable"); one channel marks available units and two
give the unit coordinates. A small encoder (64 -> 32 -> 16 grid) and a
decoder restricted to the current CTU (16 -> 32 -> 64 grid) give 67 mode
logits for each of the current CTU's 32x32 units (:meth:`CNNMCNet.forward`).

The exported module (:class:`CNNMCExport`) returns the per-unit softmax
probabilities quantised to integers, ``round(p * 65536)`` (int32,
(B, 67, 32, 32)), so the MPM derivation that follows is pure integer
arithmetic and identical in Python (:func:`mpm_list_from_quantised`) and in
C++ (patches/cnn_hooks.cpp):

* score[m] = sum of the quantised probabilities of mode m over the CU's
  4x4 units;
* entry 0 of the list is always INTRA_PLANAR (the syntax codes it with
  intra_luma_not_planar_flag, which is kept unchanged);
* entries 1..5 are the five non-planar modes with the highest score, ties
  broken by the lower mode index.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["PRESETS", "NUM_MODES", "UNAVAILABLE", "QUANT_SCALE", "CNNMCNet", "CNNMCExport", "cnnmc",
           "cnn_ranking", "mpm_list_from_quantised", "hybrid_mpm_list", "standard_mpm_list", "neighbourhood", "transpose_modes"]

NUM_MODES = 67
UNAVAILABLE = 255
QUANT_SCALE = 65536
CTU = 128
UNITS = 32

PRESETS: Dict[str, Dict[str, object]] = {
    "cnnmc": {"widths": (16, 32, 64), "embed": 8},
}


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class CNNMCNet(nn.Module):
    """The mode predictor: ``forward(recon, modes, available) -> logits (B, 67, 32, 32)``."""

    def __init__(self, preset: str = "cnnmc", widths: Sequence[int] = (), embed: int = -1):
        super().__init__()
        p = PRESETS.get(preset, PRESETS["cnnmc"])
        widths = tuple(widths) if widths else tuple(p["widths"])  # type: ignore[arg-type]
        embed = embed if embed > 0 else int(p["embed"])  # type: ignore[arg-type]
        c1, c2, c3 = widths
        self.preset = preset
        self.widths = list(widths)
        self.embed_dim = embed
        self.embed = nn.Embedding(NUM_MODES + 1, embed)
        cin = 16 + embed + 1 + 2
        self.c1 = _conv(cin, c1)          # 64x64 grid
        self.c2 = _conv(c1, c2, 2)        # 32x32
        self.c3 = _conv(c2, c2)
        self.c4 = _conv(c2, c3, 2)        # 16x16
        self.c5 = _conv(c3, c3)
        self.c6 = _conv(c3, c3)
        self.u1 = _conv(c3 + c2, c2)      # current CTU (+ context) at 32x32
        self.u2 = _conv(c2 + c1, c2)      # current CTU (+ context) at 64x64
        self.out = nn.Conv2d(c2, NUM_MODES, 1)

    def _canvas(self, recon: torch.Tensor, modes: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        B = recon.shape[0]
        a = available.to(recon.dtype).view(B, 3, 1, 1)
        r = (recon - 512.0) / 1023.0 * a
        zero = torch.zeros_like(r[:, 0:1])
        luma = torch.cat([torch.cat([r[:, 2:3], r[:, 0:1]], dim=3),
                          torch.cat([r[:, 1:2], zero], dim=3)], dim=2)            # B,1,256,256
        luma = F.pixel_unshuffle(luma, 4)                                          # B,16,64,64
        m = torch.where(modes > 66, torch.full_like(modes, 67), modes)
        m = torch.where(a.to(torch.bool).expand(B, 3, 32, 32), m, torch.full_like(m, 67))
        cur = torch.full_like(m[:, 0:1], 67)
        mc = torch.cat([torch.cat([m[:, 2:3], m[:, 0:1]], dim=3),
                        torch.cat([m[:, 1:2], cur], dim=3)], dim=2)[:, 0]         # B,64,64
        emb = self.embed(mc).permute(0, 3, 1, 2)                                   # B,E,64,64
        av = (mc < 67).to(recon.dtype).unsqueeze(1)
        g = torch.arange(64, dtype=recon.dtype, device=recon.device) / float(63) - 0.5
        gy = g.view(1, 1, 64, 1).expand(B, 1, 64, 64)
        gx = g.view(1, 1, 1, 64).expand(B, 1, 64, 64)
        return torch.cat([luma, emb.to(recon.dtype), av, gy, gx], dim=1)

    def forward(self, recon: torch.Tensor, modes: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        x = self._canvas(recon, modes, available)
        f1 = F.relu(self.c1(x))                                   # 64x64
        f2 = F.relu(self.c3(F.relu(self.c2(f1))))                 # 32x32
        f3 = F.relu(self.c6(F.relu(self.c5(F.relu(self.c4(f2))))))  # 16x16
        # current CTU: [8:16] at 16x16, [16:32] at 32x32, [32:64] at 64x64,
        # each taken with a few units of context above/left.
        g = F.interpolate(f3[:, :, 6:, 6:], scale_factor=2.0, mode="nearest")    # 20x20 = [12:32]
        g = F.relu(self.u1(torch.cat([g, f2[:, :, 12:, 12:]], dim=1)))[:, :, 2:, 2:]  # 18x18 = [14:32]
        g = F.interpolate(g, scale_factor=2.0, mode="nearest")                     # 36x36 = [28:64]
        g = F.relu(self.u2(torch.cat([g, f1[:, :, 28:, 28:]], dim=1)))[:, :, 4:, 4:]  # 32x32
        return self.out(g)

    def macs_per_ctu(self) -> int:
        c1, c2, c3 = self.widths
        cin = 16 + self.embed_dim + 3
        return int(4096 * 9 * cin * c1 + 1024 * 9 * (c1 * c2 + c2 * c2) + 256 * 9 * (c2 * c3 + 2 * c3 * c3)
                   + 400 * 9 * (c3 + c2) * c2 + 1296 * 9 * (c2 + c1) * c2 + 1024 * c2 * NUM_MODES)

    def config(self) -> Dict[str, object]:
        return {"preset": self.preset, "widths": list(self.widths), "embed": self.embed_dim}


class CNNMCExport(nn.Module):
    """What is scripted and shipped: quantised probabilities (int32)."""

    def __init__(self, net: CNNMCNet):
        super().__init__()
        self.net = net

    def forward(self, recon: torch.Tensor, modes: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(self.net(recon, modes, available), dim=1)
        return torch.round(p * 65536.0).to(torch.int32)  # QUANT_SCALE


def cnnmc(**kw) -> CNNMCNet:
    return CNNMCNet("cnnmc", **kw)


# ---------------------------------------------------------------------------
# MPM lists

def cnn_ranking(q: np.ndarray, x_rel: int, y_rel: int, log2_w: int, log2_h: int) -> List[int]:
    """All non-planar modes of the CU, highest CNNMC score first (ties to the
    lower mode). ``q`` (67, 32, 32) quantised probabilities of the CTU; the CU
    at (x_rel, y_rel) (luma samples, relative to the CTU) is 2^log2_w x 2^log2_h."""
    ux, uy = x_rel >> 2, y_rel >> 2
    nw, nh = max(1, (1 << log2_w) >> 2), max(1, (1 << log2_h) >> 2)
    score = q[:, uy:uy + nh, ux:ux + nw].astype(np.int64).sum(axis=(1, 2))
    return sorted(range(1, NUM_MODES), key=lambda m: (-int(score[m]), m))


def mpm_list_from_quantised(q: np.ndarray, x_rel: int, y_rel: int, log2_w: int, log2_h: int) -> List[int]:
    """The CNNMC MPM list of a CU (see the module docstring): planar, then
    the top five of :func:`cnn_ranking`."""
    return [0] + cnn_ranking(q, x_rel, y_rel, log2_w, log2_h)[:5]


def hybrid_mpm_list(q: np.ndarray, x_rel: int, y_rel: int, log2_w: int, log2_h: int,
                    standard: Sequence[int], keep: int = 1) -> List[int]:
    """Planar, then the first ``keep`` non-planar entries of the standard
    list ``standard`` (entries 1..keep), then the CNNMC ranking for the
    remaining entries."""
    out = [0] + [int(m) for m in standard[1:1 + keep]]
    for m in cnn_ranking(q, x_rel, y_rel, log2_w, log2_h):
        if len(out) == 6:
            break
        if m not in out:
            out.append(m)
    return out


def _wrap(m: int) -> int:
    return (m - 2 + 64) % 64 + 2


def standard_mpm_list(cand_a: int, cand_b: int) -> List[int]:
    """8.4.2 six-entry list (entry 0 planar) from the two neighbour modes
    (planar for unavailable); mirrors cpp/derive.h mpm_list_from_candidates."""
    mn, mx = min(cand_a, cand_b), max(cand_a, cand_b)
    if mx <= 1:
        return [0, 1, 50, 18, 46, 54]
    if cand_a == cand_b or mn <= 1:
        return [0, mx, _wrap(mx - 1), _wrap(mx + 1), _wrap(mx - 2), _wrap(mx + 2)]
    out = [0, cand_a, cand_b]
    if mx - mn == 1:
        out += [_wrap(mn - 1), _wrap(mx + 1), _wrap(mn - 2)]
    elif mx - mn >= 62:
        out += [_wrap(mn + 1), _wrap(mx - 1), _wrap(mn + 2)]
    elif mx - mn == 2:
        out += [_wrap(mn + 1), _wrap(mn - 1), _wrap(mx + 1)]
    else:
        out += [_wrap(mn - 1), _wrap(mn + 1), _wrap(mx - 1)]
    return out


def transpose_modes(m: np.ndarray) -> np.ndarray:
    """Intra modes of the transposed picture: angular m -> 68 - m (planar,
    DC and 'unavailable' unchanged)."""
    m = np.asarray(m)
    return np.where((m >= 2) & (m <= 66), 68 - m.astype(np.int64), m).astype(m.dtype)


def neighbourhood(rec: np.ndarray, modes: np.ndarray, ctu_x: int, ctu_y: int
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CNNMC inputs of the CTU at luma (ctu_x, ctu_y) of a picture with
    luma ``rec`` (H, W) and mode map ``modes`` (H/4, W/4), as the codec
    fills ``CtuNeighbourhood``: recon (3,128,128) uint16, modes (3,32,32)
    uint8, available (3,) bool; order above, left, above-left. Parts of a
    neighbour CTU outside the picture are 512 / 255."""
    H, W = rec.shape
    out_r = np.full((3, CTU, CTU), 512, np.uint16)
    out_m = np.full((3, UNITS, UNITS), UNAVAILABLE, np.uint8)
    avail = np.zeros(3, bool)
    for k, (dx, dy) in enumerate(((0, -CTU), (-CTU, 0), (-CTU, -CTU))):
        x0, y0 = ctu_x + dx, ctu_y + dy
        if x0 < 0 or y0 < 0 or x0 >= W or y0 >= H:
            continue
        avail[k] = True
        h, w = min(CTU, H - y0), min(CTU, W - x0)
        out_r[k, :h, :w] = rec[y0:y0 + h, x0:x0 + w]
        out_m[k, :h // 4, :w // 4] = modes[y0 // 4:(y0 + h) // 4, x0 // 4:(x0 + w) // 4]
    return out_r, out_m, avail
