"""Integer (fixed-point) versions of the in-loop CNNs: bit-identical on every CPU.

Why: float32 convolutions round differently with the kernel the library
picks (AVX2 / AVX-512 / AMX-bf16 / scalar code, oneDNN or not, blocking and
thread split), so a decoder on another CPU can get another picture. Here
every tensor that enters a convolution holds **integers**, weights and
biases are integers, and the convolution runs in float64: each product and
each partial sum is an integer of magnitude below 2^53 (the bound is
computed per layer from the weights and the activation ranges and checked
at export, :meth:`IntConv.acc_bound`), so every float64 operation of the
convolution is exact and the result does not depend on the summation order,
blocking, FMA use or thread split. The requantisation after each
convolution is int64 arithmetic::

    acc  = conv(x, W) + b                       # exact integer (float64)
    out  = clamp((acc * M[o] + 2^(S[o]-1)) >> S[o], lo, hi)   # int64

with a 15-bit multiplier ``M[o]`` and a shift ``S[o]`` per output channel
(the fixed-point form of ``s_w[o] / s_out``), ReLU folded into ``lo = 0``.
Concatenation, pixel (un)shuffle, nearest upsampling, slicing, additions of
integers and table look-ups are exact. Activations are int16
(``act_bits``), weights int16 for the first layer of each network and
``weight_bits`` (default 8, the int8 range) elsewhere, with a scale per
output channel (the scale of each input channel, from the producer layer, is
folded into the weights before they are quantised).

Numbers are stored in the TorchScript archive as int32 buffers whose
magnitudes are below 2^24 (biases are split into two parts), so even a
loader that converts every buffer to float32 (``torch::jit::Module::to``
does) keeps them exact; ``forward`` casts them back.

The same network code runs in two modes:

* integer (:class:`IntConv` layers, float64 compute): what is exported and
  run by the codec;
* fake-quantised (:class:`QConv` layers, float32, straight-through
  rounding): quantisation-aware fine-tuning from the float weights
  (:func:`qat_cnnif`, :func:`qat_cnnmc` in :mod:`pyvtm.utils.qat`).

Models: :class:`IntCNNIF` (the ``rgb``-layout :class:`~pyvtm.models.cnnif.CNNIFilter`
with the R'G'B' conversion and the normalisation folded into the first and
last layers; interface unchanged, outputs already rounded and clipped) and
:class:`IntCNNMC` (:class:`~pyvtm.models.cnnmc.CNNMCNet` with integer
logits and an exact integer softmax by table look-up; interface unchanged:
int32 ``round(p * 65536)``-like probabilities summing to about 65536).
"""


import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["IntConv", "QConv", "IntCNNIF", "IntCNNMC", "ACT_BITS", "WEIGHT_BITS", "EXACT_LIMIT",
           "from_float_cnnif", "from_float_cnnmc", "to_integer", "calibrate", "calibrate_cnnmc", "quant_report",
           "ste_round"]

ACT_BITS = 16
WEIGHT_BITS = 8
FIRST_WEIGHT_BITS = 16
MULT_BITS = 15
EXACT_LIMIT = 2 ** 53  # float64 represents every integer below this exactly
LOGIT_SHIFT = 6        # CNNMC logits in units of 1/64 nat
EXP_TABLE_BITS = 20    # exp table entries: round(2^20 * exp(-k / 64))

_SPLIT = 12


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        return torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        return g


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """floor(x + 0.5) with the straight-through gradient."""
    return _RoundSTE.apply(x)


def _act_range(act_bits: int, relu: bool) -> Tuple[int, int]:
    hi = (1 << (act_bits - 1)) - 1
    return (0 if relu else -hi - 1), hi


class QConv(nn.Module):
    """A convolution of integer-valued activations, fake-quantised (float32).

    ``weight``/``bias`` are the float parameters (trained by QAT);
    ``s_in`` (per input channel) is the real value of one integer unit of
    each input channel, ``s_out`` that of the output. ``forward`` returns
    integer-valued tensors (straight-through rounding) in ``lo..hi``."""

    def __init__(self, conv: nn.Conv2d, relu: bool, weight_bits: int = WEIGHT_BITS, act_bits: int = ACT_BITS,
                 lo: Optional[int] = None, hi: Optional[int] = None):
        super().__init__()
        # Parameters normalised to about 1 (fixed per-channel / per-layer
        # factors), so that optimiser steps are relative, whatever the units
        # of the folded weights (the head's are ~1e-4, the tail's ~1e3).
        w = conv.weight.detach().clone().float()
        b = conv.bias.detach().clone().float()
        self.register_buffer("w_norm", w.abs().amax(dim=(1, 2, 3)).clamp_min(1e-12))
        self.register_buffer("b_norm", b.abs().max().clamp_min(1e-6).reshape(()))
        self.w = nn.Parameter(w / self.w_norm.view(-1, 1, 1, 1))
        self.b = nn.Parameter(b / self.b_norm)
        self.stride = int(conv.stride[0])
        self.padding = int(conv.padding[0])
        self.relu = relu
        self.weight_bits = weight_bits
        a_lo, a_hi = _act_range(act_bits, relu)
        self.lo = a_lo if lo is None else lo
        self.hi = a_hi if hi is None else hi
        self.register_buffer("s_in", torch.ones(conv.in_channels))
        self.register_buffer("s_out", torch.ones(()))
        self.calibrating = False
        self.float_mode = False
        self.amax = 0.0

    @property
    def weight(self) -> torch.Tensor:
        return self.w * self.w_norm.view(-1, 1, 1, 1)

    @property
    def bias(self) -> torch.Tensor:
        return self.b * self.b_norm

    def weight_scale(self) -> Tuple[torch.Tensor, torch.Tensor]:
        weff = self.weight * self.s_in.view(1, -1, 1, 1)
        qmax = (1 << (self.weight_bits - 1)) - 1
        s_w = (weff.detach().abs().amax(dim=(1, 2, 3)) / qmax).clamp_min(1e-12)
        return weff, s_w

    def accumulate(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(acc, s_w): the integer accumulator (real value acc * s_w[o])."""
        weff, s_w = self.weight_scale()
        if self.float_mode:
            wq, bq = weff / s_w.view(-1, 1, 1, 1), self.bias / s_w
        else:
            wq, bq = ste_round(weff / s_w.view(-1, 1, 1, 1)), ste_round(self.bias / s_w)
        return F.conv2d(x, wq, bq, self.stride, self.padding), s_w

    def requant(self, acc: torch.Tensor, s_w: torch.Tensor, extra_shift: int = 0) -> torch.Tensor:
        real = acc * s_w.view(1, -1, 1, 1) / float(1 << extra_shift)
        if self.relu:
            real = F.relu(real)
        if self.calibrating:
            self.amax = max(self.amax, float(real.detach().abs().max()))
        if self.float_mode:
            return real / self.s_out
        return torch.clamp(ste_round(real / self.s_out), self.lo, self.hi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acc, s_w = self.accumulate(x)
        return self.requant(acc, s_w)


class IntConv(nn.Module):
    """The exported integer convolution (see the module docstring)."""

    def __init__(self, w_int: torch.Tensor, b_int: torch.Tensor, mult: torch.Tensor, shift: torch.Tensor,
                 stride: int, padding: int, lo: int, hi: int, in_bound: torch.Tensor):
        super().__init__()
        assert int(w_int.abs().max()) < (1 << 24) and int(mult.max()) < (1 << 24)
        self.register_buffer("weight", w_int.to(torch.int32))
        b = b_int.to(torch.int64)
        self.register_buffer("bias_hi", torch.div(b, 1 << _SPLIT, rounding_mode="floor").to(torch.int32))
        self.register_buffer("bias_lo", (b - torch.div(b, 1 << _SPLIT, rounding_mode="floor") * (1 << _SPLIT)).to(torch.int32))
        self.register_buffer("mult", mult.to(torch.int32))
        self.register_buffer("shift", shift.to(torch.int32))
        self.register_buffer("in_bound", in_bound.to(torch.int32))  # max |input| per input channel
        self.stride = stride
        self.padding = padding
        self.lo = lo
        self.hi = hi

    def bias_int(self) -> torch.Tensor:
        return self.bias_hi.to(torch.int64) * (1 << 12) + self.bias_lo.to(torch.int64)

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        """The exact integer accumulator conv(x, W) + b, as float64 (any
        summation order gives the same result: see the module docstring)."""
        w = self.weight.to(torch.float64)
        b = self.bias_int().to(torch.float64)
        if w.shape[2] == 3 and self.stride == 1 and self.padding == 1 and w.shape[1] >= 64:
            return _conv3x3_wide(x, w, b)
        if w.shape[2] == 1 and self.stride == 1 and self.padding == 0:
            B, C, H, W = x.shape
            y = torch.matmul(w.view(w.shape[0], C), x.reshape(B, C, H * W)) + b.view(1, -1, 1)
            return y.view(B, w.shape[0], H, W)
        return F.conv2d(x, w, b, self.stride, self.padding)

    def requant(self, acc: torch.Tensor, extra_shift: int = 0) -> torch.Tensor:
        a = acc.to(torch.int64)
        s = (self.shift.to(torch.int64) + extra_shift).view(1, -1, 1, 1)
        r = torch.bitwise_left_shift(torch.ones_like(s), s - 1)
        y = torch.bitwise_right_shift(a * self.mult.to(torch.int64).view(1, -1, 1, 1) + r, s)
        return torch.clamp(y, self.lo, self.hi).to(torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.requant(self.accumulate(x))

    def acc_bound(self) -> int:
        """max over output channels of sum |W| * max|input| + |b|: no partial
        sum of the convolution can exceed it."""
        w = self.weight.to(torch.int64).abs() * self.in_bound.to(torch.int64).view(1, -1, 1, 1)
        return int((w.sum(dim=(1, 2, 3)) + self.bias_int().abs()).max())


def _conv3x3_wide(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """3x3 convolution (padding 1) of a wide input as ONE matrix product of
    the padded picture in channels-last order with all 9 taps, then the sum
    of the 9 shifted tap planes. Avoids ATen's float64 im2col (9x the input)
    and is 1.5x (32 outputs) to 4x (3 outputs) faster for 96 input channels;
    same exact integers (every intermediate is a partial sum of the same
    terms)."""
    B, C, H, W = x.shape
    O = w.shape[0]
    wall = w.permute(1, 2, 3, 0).reshape(C, 9 * O)
    outs: List[torch.Tensor] = []
    for n in range(B):
        xp = F.pad(x[n:n + 1], (1, 1, 1, 1))[0].permute(1, 2, 0).reshape((H + 2) * (W + 2), C)
        y = torch.mm(xp, wall).view(H + 2, W + 2, 9, O)
        out = y[0:H, 0:W, 0] + b
        for t in range(1, 9):
            out = out + y[t // 3:t // 3 + H, t % 3:t % 3 + W, t]
        outs.append(out.permute(2, 0, 1))
    return torch.stack(outs)


def _export_conv(q: QConv, in_bound: torch.Tensor, extra_shift: int = 0) -> IntConv:
    with torch.no_grad():
        weff, s_w = q.weight_scale()
        w_int = torch.floor(weff.double() / s_w.double().view(-1, 1, 1, 1) + 0.5).to(torch.int64)
        b_int = torch.floor(q.bias.double() / s_w.double() + 0.5).to(torch.int64)
        f = s_w.double() / float(q.s_out)
        # per channel: M in [2^14, 2^15), S = shift
        e = torch.floor(torch.log2(f)).to(torch.int64)
        shift = (MULT_BITS - 1) - e
        mult = torch.floor(f * torch.pow(2.0, shift.double()) + 0.5).to(torch.int64)
        over = mult >= (1 << MULT_BITS)
        mult = torch.where(over, torch.div(mult, 2, rounding_mode="floor"), mult)
        shift = torch.where(over, shift - 1, shift)
        if int(shift.min()) < 1:
            raise ValueError("requantisation shift below 1 (output scale too small)")
    conv = IntConv(w_int, b_int, mult, shift, q.stride, q.padding, q.lo, q.hi, in_bound)
    bound = conv.acc_bound() << extra_shift
    if bound >= EXACT_LIMIT:
        raise ValueError(f"partial sums up to {bound} exceed 2^53: not exact in float64")
    if bound * int(mult.max()) + (1 << int(shift.max() + extra_shift)) >= (1 << 62):
        raise ValueError("requantisation product overflows int64")
    return conv


def _bound_vec(lo: int, hi: int, n: int) -> torch.Tensor:
    return torch.full((n,), max(abs(lo), abs(hi)), dtype=torch.int64)


# ---------------------------------------------------------------------------
# CNNIF

# Y'CbCr -> R'G'B' (BT.601 full range, pyvtm.colour), and back
_A = np.array([[1.0, 0.0, 1.402], [1.0, -0.3441362862010221, -0.7141362862010221], [1.0, 1.772, 0.0]])
_B = np.array([[0.299, 0.587, 0.114],
               [-0.299 / 1.772, -0.587 / 1.772, (1 - 0.114) / 1.772],
               [(1 - 0.299) / 1.402, -0.587 / 1.402, -0.114 / 1.402]])


class IntCNNIF(nn.Module):
    """Integer CNNIF: ``forward(y, cb, cr, qp)`` like
    :class:`~pyvtm.models.cnnif.CNNIFilter` (float32 10-bit planes, qp (B,))
    -> (y, cb, cr) float32 holding integers in 0..1023 (already rounded and
    clipped: the hook's ``floor(v + 0.5)`` and clip leave them unchanged).

    Network input (integers): ``2*Y - 1023``, ``Cb - 512``, ``Cr - 512``
    (chroma nearest-upsampled) and the QP; a zero of the padding is the
    float network's zero (R'=G'=B'=511.5). The R'G'B' conversion, the /1023
    normalisation and the qp/63 plane are folded into the head weights; the
    *1023 and the R'G'B' -> Y'CbCr map into the tail, whose chroma
    accumulators are summed over 2x2 (exact) and shifted by 2 more bits."""

    def __init__(self, head: nn.Module, units: nn.ModuleList, tail: nn.Module, num_units: int, convs_per_unit: int,
                 tile: int, margin: int, meta: Dict[str, object]):
        super().__init__()
        self.head = head
        self.units = units          # per unit: reduce, conv_1..conv_K
        self.tail = tail
        self.num_units = num_units
        self.convs_per_unit = convs_per_unit
        self.tile = tile
        self.margin = margin
        self.integer = isinstance(head, IntConv)
        self.meta = meta

    # -- network on integer tensors ----------------------------------------
    def _net(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.head(x)
        K1 = self.convs_per_unit + 1
        for i in range(self.num_units):
            u = f
            h = f
            for j, layer in enumerate(self.units):
                if j // K1 == i:
                    if j % K1 == 0:
                        u = layer(f)
                        h = u
                    else:
                        h = layer(h)
            v = u + h
            f = torch.cat([f, torch.clamp(v, -32768.0, 32767.0)], dim=1)
        return self._tail(f)

    def _tail(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.integer:
            acc = self.tail.accumulate(f)
            acc_c = F.pixel_unshuffle(acc[:, 1:3], 2)
            B = acc_c.shape[0]
            acc_c = acc_c.view(B, 2, 4, acc_c.shape[2], acc_c.shape[3]).sum(2)
            dy = self.tail.requant(acc)[:, 0:1]
            dc = self.tail.requant(torch.cat([acc[:, 0:1, 0::2, 0::2], acc_c], dim=1), 2)
            return dy, dc[:, 1:2], dc[:, 2:3]
        return self._tail_fake(f)

    @torch.jit.unused
    def _tail_fake(self, f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        acc, s_w = self.tail.accumulate(f)
        acc_c = F.avg_pool2d(acc[:, 1:3], 2) * 4.0
        dy = self.tail.requant(acc, s_w)[:, 0:1]
        dc = self.tail.requant(torch.cat([acc[:, 0:1, 0::2, 0::2], acc_c], dim=1), s_w, 2)
        return dy, dc[:, 1:2], dc[:, 2:3]

    def _input(self, y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor, qp: torch.Tensor) -> torch.Tensor:
        dt = torch.float64 if self.integer else torch.float32
        yy = y.to(dt) * 2.0 - 1023.0
        cbu = F.interpolate(cb.to(dt) - 512.0, scale_factor=2.0, mode="nearest")
        cru = F.interpolate(cr.to(dt) - 512.0, scale_factor=2.0, mode="nearest")
        q = qp.to(dt).view(-1, 1, 1, 1).expand(y.shape[0], 1, y.shape[2], y.shape[3])
        return torch.cat([yy, cbu, cru, q], dim=1)

    def correction(self, y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor,
                   qp: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The integer correction (untiled), sample units."""
        return self._net(self._input(y, cb, cr, qp))

    def forward(self, y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor,
                qp: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        H, W = y.shape[2], y.shape[3]
        T, Mg = self.tile, self.margin
        if H <= T + 2 * Mg and W <= T + 2 * Mg:
            dy, dcb, dcr = self.correction(y, cb, cr, qp)
        else:
            dy = torch.zeros_like(y)
            dcb = torch.zeros_like(cb)
            dcr = torch.zeros_like(cr)
            for ty in range(0, H, T):
                for tx in range(0, W, T):
                    y0, x0 = max(ty - Mg, 0), max(tx - Mg, 0)
                    y1, x1 = min(ty + T + Mg, H), min(tx + T + Mg, W)
                    ey, ex = min(ty + T, H), min(tx + T, W)
                    ty_, tcb, tcr = y[:, :, y0:y1, x0:x1], cb[:, :, y0 // 2:y1 // 2, x0 // 2:x1 // 2], \
                        cr[:, :, y0 // 2:y1 // 2, x0 // 2:x1 // 2]
                    a, b, c = self.correction(ty_, tcb, tcr, qp)
                    dy[:, :, ty:ey, tx:ex] = a[:, :, ty - y0:ey - y0, tx - x0:ex - x0].to(dy.dtype)
                    p, q_, r, s = (ty - y0) // 2, (ey - y0) // 2, (tx - x0) // 2, (ex - x0) // 2
                    dcb[:, :, ty // 2:ey // 2, tx // 2:ex // 2] = b[:, :, p:q_, r:s].to(dcb.dtype)
                    dcr[:, :, ty // 2:ey // 2, tx // 2:ex // 2] = c[:, :, p:q_, r:s].to(dcr.dtype)
        if self.integer:
            return (torch.clamp(y + dy.to(y.dtype), 0.0, 1023.0), torch.clamp(cb + dcb.to(cb.dtype), 0.0, 1023.0),
                    torch.clamp(cr + dcr.to(cr.dtype), 0.0, 1023.0))
        # fake-quantised (training): unclamped so the gradient flows
        return y + dy, cb + dcb, cr + dcr


def from_float_cnnif(model, weight_bits: int = WEIGHT_BITS, act_bits: int = ACT_BITS,
                     first_weight_bits: int = FIRST_WEIGHT_BITS) -> IntCNNIF:
    """The fake-quantised (QAT) IntCNNIF of a float ``rgb``-layout
    :class:`~pyvtm.models.cnnif.CNNIFilter` with a QP plane (scales not yet
    calibrated: see :func:`calibrate`)."""
    if model.layout != "rgb" or not model.qp_input:
        raise ValueError("the integer CNNIF needs the rgb layout with the QP plane")
    net = model.net
    # head: fold x_rgb = A' [2Y-1023, Cb-512, Cr-512] / 2046..1023, qp / 63
    fold = np.zeros((4, 4))
    fold[:3, :3] = _A * np.array([1.0 / 2046.0, 1.0 / 1023.0, 1.0 / 1023.0])[None, :]
    fold[3, 3] = 1.0 / 63.0
    head = nn.Conv2d(4, net.head.out_channels, 3, padding=1)
    with torch.no_grad():
        head.weight.copy_(torch.einsum("oikl,ij->ojkl", net.head.weight.double(), torch.from_numpy(fold)).float())
        head.bias.copy_(net.head.bias)
    qhead = QConv(head, relu=True, weight_bits=first_weight_bits, act_bits=act_bits)
    units = nn.ModuleList()
    for u in net.units:
        units.append(QConv(u.reduce, relu=False, weight_bits=weight_bits, act_bits=act_bits))
        for c in u.convs:
            units.append(QConv(c, relu=True, weight_bits=weight_bits, act_bits=act_bits))
    tail = nn.Conv2d(net.tail.in_channels, 3, 3, padding=1)
    Bm = torch.from_numpy(_B * 1023.0)
    with torch.no_grad():
        tail.weight.copy_(torch.einsum("ji,iokl->jokl", Bm, net.tail.weight.double()).float())
        tail.bias.copy_((Bm @ net.tail.bias.double()).float())
    qtail = QConv(tail, relu=False, weight_bits=weight_bits, act_bits=act_bits, lo=-1023, hi=1023)
    qtail.s_out.fill_(1.0)
    meta = {"preset": model.preset, "layout": model.layout, "qp_input": True, "num_units": model.num_units,
            "channels": model.channels, "convs_per_unit": model.convs_per_unit, "tile": model.tile,
            "margin": model.margin, "receptive_radius": model.receptive_radius,
            "weight_bits": weight_bits, "first_weight_bits": first_weight_bits, "act_bits": act_bits}
    return IntCNNIF(qhead, units, qtail, model.num_units, model.convs_per_unit, model.tile, model.margin, meta)


def _cnnif_layers(m: IntCNNIF):
    K1 = m.convs_per_unit + 1
    return [m.head] + list(m.units) + [m.tail], K1


def _set_scales_cnnif(m: IntCNNIF, headroom: float) -> None:
    """Output scales from the calibrated maxima; input scale vectors from the
    producers (concatenation order of the dense units)."""
    act_hi = float(m.head.hi)

    def scale(amax: float) -> float:
        return max(amax * headroom, 1e-6) / act_hi

    m.head.s_in.fill_(1.0)
    m.head.s_out.fill_(scale(m.head.amax))
    feats = [m.head.s_out.expand(m.head.weight.shape[0])]
    K1 = m.convs_per_unit + 1
    for i in range(m.num_units):
        layers = [m.units[i * K1 + j] for j in range(K1)]
        red = layers[0]
        s_in = torch.cat(feats)
        red.s_in.copy_(s_in)
        s_u = scale(max(red.amax, getattr(red, "amax_sum", 0.0)))
        red.s_out.fill_(s_u)
        prev = red.s_out
        for j, l in enumerate(layers[1:]):
            l.s_in.copy_(prev.expand(l.weight.shape[1]))
            last = j == len(layers) - 2
            l.s_out.fill_(s_u if last else scale(l.amax))
            prev = l.s_out
        feats.append(red.s_out.expand(red.weight.shape[0]))
    m.tail.s_in.copy_(torch.cat(feats))


def _cnnif_calib_pass(m: IntCNNIF, batches) -> None:
    """Run float (unquantised) passes recording per-layer maxima."""
    layers, K1 = _cnnif_layers(m)
    for l in layers:
        l.calibrating, l.float_mode, l.amax = True, True, 0.0
        l.amax_sum = 0.0
    # the sum u + h of each unit: hook through the reduce layer's stats
    with torch.no_grad():
        for (y, cb, cr, qp) in batches:
            x = m._input(y, cb, cr, qp)
            f = m.head(x)
            for i in range(m.num_units):
                red = m.units[i * K1]
                u = red(f)
                h = u
                for j in range(1, K1):
                    h = m.units[i * K1 + j](h)
                v = (u + h) * red.s_out
                red.amax_sum = max(red.amax_sum, float(v.abs().max()))
                f = torch.cat([f, u + h], dim=1)
    for l in layers:
        l.calibrating, l.float_mode = False, False


def calibrate(m: IntCNNIF, batches, headroom: float = 1.25) -> IntCNNIF:
    """Set the activation scales of a fake-quantised IntCNNIF from float
    passes over ``batches`` [(y, cb, cr, qp)]: scale = headroom * max / 32767
    (the float pass is exact whatever the scales, as long as each layer's
    s_in is its producers' s_out, which holds before and after)."""
    _cnnif_calib_pass(m, batches)
    _set_scales_cnnif(m, headroom)
    return m


def to_integer(m):
    """The exported integer module of a calibrated fake-quantised model."""
    if isinstance(m, IntCNNIF):
        return _to_integer_cnnif(m)
    if isinstance(m, IntCNNMC):
        return _to_integer_cnnmc(m)
    raise TypeError(type(m))


def _to_integer_cnnif(m: IntCNNIF) -> IntCNNIF:
    K1 = m.convs_per_unit + 1
    head = _export_conv(m.head, torch.tensor([1023, 512, 512, 63], dtype=torch.int64))
    ab = _bound_vec(m.head.lo, m.head.hi, 1)
    feats = [ab.expand(m.head.weight.shape[0])]
    units = nn.ModuleList()
    for i in range(m.num_units):
        layers = [m.units[i * K1 + j] for j in range(K1)]
        units.append(_export_conv(layers[0], torch.cat(feats)))
        prev = _bound_vec(layers[0].lo, layers[0].hi, layers[0].weight.shape[0])
        for l in layers[1:]:
            units.append(_export_conv(l, prev))
            prev = _bound_vec(l.lo, l.hi, l.weight.shape[0])
        feats.append(_bound_vec(-32768, 32767, layers[0].weight.shape[0]))
    tail = _export_conv(m.tail, torch.cat(feats), extra_shift=2)
    out = IntCNNIF(head, units, tail, m.num_units, m.convs_per_unit, m.tile, m.margin, dict(m.meta))
    out.meta["acc_bounds"] = quant_report(out)
    return out.eval()


def quant_report(m) -> Dict[str, object]:
    """Per-layer accumulator bounds (bits) of an exported integer model."""
    rep = {}
    for name, mod in m.named_modules():
        if isinstance(mod, IntConv):
            b = mod.acc_bound()
            rep[name or "conv"] = round(math.log2(max(b, 1)), 2)
    return {"log2_max_partial_sum": rep, "max_bits": max(rep.values()) if rep else 0.0,
            "exact_limit_bits": 53}


# ---------------------------------------------------------------------------
# CNNMC

class IntCNNMC(nn.Module):
    """Integer CNNMC: ``forward(recon, modes, available)`` like
    :class:`~pyvtm.models.cnnmc.CNNMCExport` -> int32 (B, 67, 32, 32).

    Input channels (integers): luma ``(recon - 512) * available`` packed 4x4
    (16), the integer mode embedding (table look-up), the unit availability
    (0/1) and the coordinates ``2k - 63`` (2). Output: integer logits
    ``z`` (1/64 nat) -> ``e = T[max(z) - z]`` with ``T[k] = round(2^20
    exp(-k/64))`` (0 beyond the table) -> ``q = (e * 65536 + E/2) // E``,
    ``E = sum e`` over the 67 modes: the softmax probabilities in 1/65536
    computed with integer operations only."""

    def __init__(self, layers: nn.ModuleList, embed: torch.Tensor, exp_table: torch.Tensor, meta: Dict[str, object]):
        super().__init__()
        self.layers = layers  # c1..c6, u1, u2, out
        self.integer = isinstance(layers[0], IntConv)
        if self.integer:
            self.register_buffer("embed", embed.to(torch.int32))
        else:
            self.embed = nn.Parameter(embed.float())
        self.register_buffer("exp_table", exp_table.to(torch.int32))
        self.meta = meta
        self.returns_quantised = True

    @torch.jit.unused
    def _fake_embed(self) -> torch.Tensor:
        return ste_round(self.embed)

    def _canvas(self, recon: torch.Tensor, modes: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        dt = torch.float64 if self.integer else torch.float32
        B = recon.shape[0]
        a = available.to(dt).view(B, 3, 1, 1)
        r = (recon.to(dt) - 512.0) * a
        zero = torch.zeros_like(r[:, 0:1])
        luma = torch.cat([torch.cat([r[:, 2:3], r[:, 0:1]], dim=3),
                          torch.cat([r[:, 1:2], zero], dim=3)], dim=2)
        luma = F.pixel_unshuffle(luma, 4)
        m = torch.where(modes > 66, torch.full_like(modes, 67), modes)
        m = torch.where(a.to(torch.bool).expand(B, 3, 32, 32), m, torch.full_like(m, 67))
        cur = torch.full_like(m[:, 0:1], 67)
        mc = torch.cat([torch.cat([m[:, 2:3], m[:, 0:1]], dim=3),
                        torch.cat([m[:, 1:2], cur], dim=3)], dim=2)[:, 0]
        if self.integer:
            emb = self.embed.to(dt)[mc].permute(0, 3, 1, 2)
        else:
            emb = self._fake_embed()[mc].permute(0, 3, 1, 2)
        av = (mc < 67).to(dt).unsqueeze(1)
        g = torch.arange(64, dtype=dt, device=recon.device) * 2.0 - 63.0
        gy = g.view(1, 1, 64, 1).expand(B, 1, 64, 64)
        gx = g.view(1, 1, 1, 64).expand(B, 1, 64, 64)
        return torch.cat([luma, emb.to(dt), av, gy, gx], dim=1)

    def logits(self, recon: torch.Tensor, modes: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        L = self.layers
        x = self._canvas(recon, modes, available)
        f1 = L[0](x)
        f2 = L[2](L[1](f1))
        f3 = L[5](L[4](L[3](f2)))
        g = F.interpolate(f3[:, :, 6:, 6:], scale_factor=2.0, mode="nearest")
        g = L[6](torch.cat([g, f2[:, :, 12:, 12:]], dim=1))[:, :, 2:, 2:]
        g = F.interpolate(g, scale_factor=2.0, mode="nearest")
        g = L[7](torch.cat([g, f1[:, :, 28:, 28:]], dim=1))[:, :, 4:, 4:]
        return L[8](g)

    def forward(self, recon: torch.Tensor, modes: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        z = self.logits(recon, modes, available).to(torch.int64)
        k = torch.clamp(z.amax(dim=1, keepdim=True) - z, 0, self.exp_table.shape[0] - 1)
        e = self.exp_table.to(torch.int64)[k]
        E = e.sum(dim=1, keepdim=True)
        return torch.div(e * 65536 + torch.div(E, 2, rounding_mode="floor"), E, rounding_mode="floor").to(torch.int32)


def _exp_table() -> torch.Tensor:
    k = np.arange(0, 4096)
    t = np.floor((1 << EXP_TABLE_BITS) * np.exp(-k / float(1 << LOGIT_SHIFT)) + 0.5).astype(np.int64)
    n = int(np.nonzero(t)[0][-1]) + 2  # keep one zero entry at the end
    return torch.from_numpy(t[:n])


def from_float_cnnmc(net, weight_bits: int = WEIGHT_BITS, act_bits: int = ACT_BITS,
                     first_weight_bits: int = FIRST_WEIGHT_BITS) -> IntCNNMC:
    """Fake-quantised IntCNNMC of a float :class:`~pyvtm.models.cnnmc.CNNMCNet`
    (call :func:`calibrate_cnnmc` next)."""
    names = ["c1", "c2", "c3", "c4", "c5", "c6", "u1", "u2", "out"]
    layers = nn.ModuleList()
    for n in names:
        c = getattr(net, n)
        if n == "out":
            q = QConv(c, relu=False, weight_bits=weight_bits, act_bits=act_bits)
            q.s_out.fill_(1.0 / (1 << LOGIT_SHIFT))
        else:
            q = QConv(c, relu=True, weight_bits=first_weight_bits if n == "c1" else weight_bits, act_bits=act_bits)
        layers.append(q)
    emb = net.embed.weight.detach().clone()
    s_e = float(emb.abs().max()) / 32767.0
    m = IntCNNMC(layers, emb / s_e, _exp_table(), {
        "preset": net.preset, "widths": list(net.widths), "embed": net.embed_dim, "weight_bits": weight_bits,
        "first_weight_bits": first_weight_bits, "act_bits": act_bits, "logit_unit": f"1/{1 << LOGIT_SHIFT} nat",
        "exp_table": f"round(2^{EXP_TABLE_BITS} exp(-k/{1 << LOGIT_SHIFT}))"})
    m.embed_scale = s_e
    return m


def _set_scales_cnnmc(m: IntCNNMC, headroom: float) -> None:
    L = m.layers
    hi = float(L[0].hi)

    def sc(l):
        return max(l.amax * headroom, 1e-6) / hi

    e = torch.full((m.embed.shape[1],), m.embed_scale)
    L[0].s_in.copy_(torch.cat([torch.full((16,), 1.0 / 1023.0), e, torch.ones(1), torch.full((2,), 1.0 / 126.0)]))
    for i in range(8):
        L[i].s_out.fill_(sc(L[i]))
    for i, src in ((1, [0]), (2, [1]), (3, [2]), (4, [3]), (5, [4]), (6, [5, 2]), (7, [6, 0]), (8, [7])):
        L[i].s_in.copy_(torch.cat([L[j].s_out.expand(L[j].weight.shape[0]) for j in src]))


def calibrate_cnnmc(m: IntCNNMC, batches, headroom: float = 1.25) -> IntCNNMC:
    for l in m.layers:
        l.calibrating, l.float_mode, l.amax = True, True, 0.0
    _set_scales_cnnmc(m, headroom)  # s_in of the first layer (others: set after the pass)
    with torch.no_grad():
        for (recon, modes, av) in batches:
            m.logits(recon, modes, av)
    _set_scales_cnnmc(m, headroom)
    for l in m.layers:
        l.calibrating, l.float_mode = False, False
    return m


def _to_integer_cnnmc(m: IntCNNMC) -> IntCNNMC:
    L = m.layers
    E = int(torch.floor(m.embed.detach().abs() + 0.5).max())
    first = torch.tensor([512] * 16 + [E] * (L[0].weight.shape[1] - 19) + [1, 63, 63], dtype=torch.int64)
    bounds = [first]
    out = nn.ModuleList()
    srcs = {1: [0], 2: [1], 3: [2], 4: [3], 5: [4], 6: [5, 2], 7: [6, 0], 8: [7]}
    for i, l in enumerate(L):
        ib = first if i == 0 else torch.cat([_bound_vec(L[j].lo, L[j].hi, L[j].weight.shape[0]) for j in srcs[i]])
        out.append(_export_conv(l, ib))
    emb = torch.floor(m.embed.detach() + 0.5).to(torch.int64)
    r = IntCNNMC(out, emb, m.exp_table, dict(m.meta))
    r.meta["acc_bounds"] = quant_report(r)
    return r.eval()


def _conv_from_scripted(s) -> IntConv:
    b = s.bias_hi.to(torch.int64) * (1 << _SPLIT) + s.bias_lo.to(torch.int64)
    return IntConv(s.weight.to(torch.int64), b, s.mult.to(torch.int64), s.shift.to(torch.int64), int(s.stride),
                   int(s.padding), int(s.lo), int(s.hi), s.in_bound.to(torch.int64))


def from_exported(module, meta: Dict[str, object]):
    """The eager integer model of an exported (TorchScript) one: same integer
    weights, current code (e.g. to re-export it after a change of the
    runtime code; the model id, a hash of the weights, stays the same)."""
    if meta["kind"] == "cnnif":
        units = nn.ModuleList([_conv_from_scripted(u) for _, u in module.units.named_children()])
        m = IntCNNIF(_conv_from_scripted(module.head), units, _conv_from_scripted(module.tail),
                     int(meta["num_units"]), int(meta["convs_per_unit"]), int(meta["tile"]), int(meta["margin"]),
                     {k: meta[k] for k in ("preset", "layout", "qp_input", "num_units", "channels", "convs_per_unit",
                                           "tile", "margin", "receptive_radius", "weight_bits", "first_weight_bits",
                                           "act_bits")})
    else:
        layers = nn.ModuleList([_conv_from_scripted(l) for _, l in module.layers.named_children()])
        m = IntCNNMC(layers, module.embed.to(torch.int64), module.exp_table.to(torch.int64),
                     {k: meta[k] for k in ("preset", "widths", "embed", "weight_bits", "first_weight_bits", "act_bits",
                                           "logit_unit", "exp_table")})
    m.meta["acc_bounds"] = quant_report(m)
    return m.eval()
