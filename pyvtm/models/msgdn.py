"""MSGDN: the multi-scale grouped dense network, an RGB post-filter for the
decoded picture (and MSGDN-GAN, the same network trained as the generator of
a relativistic average GAN).

Network (:class:`MSGDNNet`, on normalised tensors)::

    x = cat(rgb / 255 - 0.5, qp / 63 plane)            # 4 channels (3 without the QP plane)
    f1 = conv3x3(x)                   C1 maps, full resolution
    f2 = conv3x3 stride 2 (f1)        C2 maps, 1/2
    f3 = conv3x3 stride 2 (f2)        C3 maps, 1/4
    g_s = GRDB_s(f_s)                 one grouped residual dense block per scale
    h2 = NL2(conv1x1(cat(g2, up2(g3))))      coarse to fine: up-sample, concatenate,
    h1 = NL1(conv1x1(cat(g1, up2(h2))))      1x1 fusion, non-local attention
    correction = conv3x3(h1)          3 channels; out = rgb + 255 * correction

* RDB (residual dense block): ``layers`` 3x3 conv + ReLU, layer i sees the
  block input and all earlier layer outputs (``C + i * G`` channels, growth
  ``G``), local 1x1 fusion of all of them back to ``C``, local residual.
* GRDB: ``rdbs`` RDBs in a row; their outputs are concatenated and fused by a
  1x1 conv, plus a residual from the GRDB input.
* NL: region non-local block (embedded Gaussian self-attention, channels
  reduced by 2) inside non-overlapping ``window`` x ``window`` regions of the
  feature map, output 1x1 conv initialised to zero, residual. Attention over
  regions keeps memory linear in the picture size (a whole-picture non-local
  block is quadratic).
* Up-sampling: bilinear x2 (no parameters). Global residual; the last conv is
  initialised to zero, so an untrained filter is the identity.

Presets (:data:`PRESETS`; channels listed from the lowest to the highest
resolution, as in the paper):

``msgdn``    channels 128/128/64, growth 64/64/32, 4 RDBs x 8 layers per GRDB
             (the published size; the growth rate is our choice: C/2).
``msgdn_s``  channels 32/32/16, growth 16/16/8, 2 RDBs x 4 layers: trains and
             runs on 2 CPU cores.

Post-filter (:class:`MSGDNFilter`): ``forward(rgb (B,3,H,W) float 0..255,
qp (B,) float) -> (B,3,H,W)`` float, unrounded; the caller rounds
``floor(v + 0.5)`` and clips to 0..255. Any size: the input is padded by edge
replication to a multiple of :attr:`MSGDNFilter.multiple` and cropped back.
Large pictures are filtered tile by tile (:func:`apply_postfilter`).

MSGDN-GAN: :class:`Discriminator` (VGG-style, no normalisation layers),
:func:`ragan_d_loss` / :func:`ragan_g_loss` (the symmetric relativistic
average losses), :class:`VGG19Features` (torchvision's ``vgg19().features``
layout, weights from a user-named file).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["PRESETS", "RDB", "GRDB", "RegionNonLocal", "MSGDNNet", "MSGDNFilter", "msgdn", "msgdn_s",
           "rdb_parameter_count", "grdb_parameter_count", "msgdn_parameter_count", "msgdn_cost",
           "apply_postfilter", "Discriminator", "ragan_d_loss", "ragan_g_loss", "VGG19Features",
           "VGG19_CFG", "load_vgg19_features"]

#: name -> configuration; channels / growth from the lowest (1/4) to the highest (full) resolution.
PRESETS: Dict[str, Dict[str, object]] = {
    "msgdn": {"channels": (128, 128, 64), "growth": (64, 64, 32), "rdbs": 4, "layers": 8, "window": 8},
    "msgdn_s": {"channels": (32, 32, 16), "growth": (16, 16, 8), "rdbs": 2, "layers": 4, "window": 8},
}


# ---------------------------------------------------------------------------
# blocks

class RDB(nn.Module):
    """Residual dense block: ``layers`` x (3x3 conv + ReLU) with dense
    connections (growth ``growth``), local 1x1 fusion, local residual."""

    def __init__(self, channels: int, growth: int, layers: int):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(channels + i * growth, growth, 3, padding=1) for i in range(layers)])
        self.fuse = nn.Conv2d(channels + layers * growth, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats: List[torch.Tensor] = [x]
        for conv in self.convs:
            feats.append(F.relu(conv(torch.cat(feats, 1))))
        return x + self.fuse(torch.cat(feats, 1))


class GRDB(nn.Module):
    """Grouped residual dense block: RDBs in a row, their outputs
    concatenated and fused by a 1x1 conv, plus a residual."""

    def __init__(self, channels: int, growth: int, rdbs: int, layers: int):
        super().__init__()
        self.rdbs = nn.ModuleList([RDB(channels, growth, layers) for _ in range(rdbs)])
        self.fuse = nn.Conv2d(rdbs * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: List[torch.Tensor] = []
        h = x
        for rdb in self.rdbs:
            h = rdb(h)
            outs.append(h)
        return x + self.fuse(torch.cat(outs, 1))


class RegionNonLocal(nn.Module):
    """Embedded-Gaussian non-local block applied inside ``window`` x ``window``
    regions (H and W must be multiples of ``window``); residual, output conv
    initialised to zero."""

    def __init__(self, channels: int, window: int = 8, reduction: int = 2):
        super().__init__()
        self.window = window
        self.inner = max(1, channels // reduction)
        self.theta = nn.Conv2d(channels, self.inner, 1)
        self.phi = nn.Conv2d(channels, self.inner, 1)
        self.g = nn.Conv2d(channels, self.inner, 1)
        self.out = nn.Conv2d(self.inner, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def _regions(self, t: torch.Tensor) -> torch.Tensor:
        B, C, H, W = t.shape
        w = self.window
        t = t.view(B, C, H // w, w, W // w, w).permute(0, 2, 4, 3, 5, 1)
        return t.reshape(B * (H // w) * (W // w), w * w, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        w = self.window
        q = self._regions(self.theta(x))
        k = self._regions(self.phi(x))
        v = self._regions(self.g(x))
        a = torch.softmax(torch.bmm(q, k.transpose(1, 2)) / math.sqrt(float(self.inner)), dim=-1)
        y = torch.bmm(a, v)  # (B * regions, w*w, inner)
        y = y.view(B, H // w, W // w, w, w, self.inner).permute(0, 5, 1, 3, 2, 4).reshape(B, self.inner, H, W)
        return x + self.out(y)


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class MSGDNNet(nn.Module):
    """The network on normalised tensors: (B, 3 [+1], H, W) -> (B, 3, H, W)
    correction; H and W multiples of ``2 * window`` (and of 4)."""

    def __init__(self, channels=(128, 128, 64), growth=(64, 64, 32), rdbs: int = 4, layers: int = 8,
                 window: int = 8, in_channels: int = 4):
        super().__init__()
        c3, c2, c1 = (int(c) for c in channels)
        g3, g2, g1 = (int(g) for g in growth)
        self.head = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(c2, c3, 3, stride=2, padding=1)
        self.grdb1 = GRDB(c1, g1, rdbs, layers)
        self.grdb2 = GRDB(c2, g2, rdbs, layers)
        self.grdb3 = GRDB(c3, g3, rdbs, layers)
        self.fuse2 = nn.Conv2d(c2 + c3, c2, 1)
        self.nl2 = RegionNonLocal(c2, window)
        self.fuse1 = nn.Conv2d(c1 + c2, c1, 1)
        self.nl1 = RegionNonLocal(c1, window)
        self.tail = nn.Conv2d(c1, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1 = self.head(x)
        f2 = self.down1(f1)
        f3 = self.down2(f2)
        g1 = self.grdb1(f1)
        g2 = self.grdb2(f2)
        g3 = self.grdb3(f3)
        h2 = self.nl2(self.fuse2(torch.cat([g2, _up2(g3)], 1)))
        h1 = self.nl1(self.fuse1(torch.cat([g1, _up2(h2)], 1)))
        return self.tail(h1)


class MSGDNFilter(nn.Module):
    """The post-filter: 8-bit-range RGB (float) + QP in, filtered RGB out."""

    def __init__(self, preset: str = "msgdn_s", *, qp_input: bool = True, channels=None, growth=None,
                 rdbs: Optional[int] = None, layers: Optional[int] = None, window: Optional[int] = None):
        super().__init__()
        if preset not in PRESETS and channels is None:
            raise ValueError(f"unknown MSGDN preset {preset!r}; expected one of {sorted(PRESETS)}")
        base = dict(PRESETS.get(preset, PRESETS["msgdn_s"]))
        self.preset = preset
        self.qp_input = bool(qp_input)
        self.channels: List[int] = [int(c) for c in (channels if channels is not None else base["channels"])]
        self.growth: List[int] = [int(g) for g in (growth if growth is not None else base["growth"])]
        self.rdbs = int(rdbs if rdbs is not None else base["rdbs"])
        self.layers = int(layers if layers is not None else base["layers"])
        self.window = int(window if window is not None else base["window"])
        self.multiple = max(4, 2 * self.window)
        self.net = MSGDNNet(self.channels, self.growth, self.rdbs, self.layers, self.window,
                            4 if self.qp_input else 3)

    def config(self) -> dict:
        return {"preset": self.preset, "qp_input": self.qp_input, "channels": list(self.channels),
                "growth": list(self.growth), "rdbs": self.rdbs, "layers": self.layers, "window": self.window}

    def forward(self, rgb: torch.Tensor, qp: torch.Tensor) -> torch.Tensor:
        B, _, H, W = rgb.shape
        m = self.multiple
        ph, pw = (m - H % m) % m, (m - W % m) % m
        x = rgb / 255.0 - 0.5
        if ph or pw:
            x = F.pad(x, [0, pw, 0, ph], mode="replicate")
        if self.qp_input:
            q = (qp.to(x.dtype) / 63.0).view(B, 1, 1, 1).expand(B, 1, H + ph, W + pw)
            x = torch.cat([x, q], 1)
        corr = self.net(x)[:, :, :H, :W]
        return rgb + 255.0 * corr

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def kmac_per_pixel(self) -> float:
        return msgdn_cost(self.config())["kmac_per_pixel"]


def msgdn(**kw) -> MSGDNFilter:
    """The published-size MSGDN (channels 128/128/64, 4 RDBs x 8 layers)."""
    return MSGDNFilter("msgdn", **kw)


def msgdn_s(**kw) -> MSGDNFilter:
    """The small preset (channels 32/32/16, 2 RDBs x 4 layers)."""
    return MSGDNFilter("msgdn_s", **kw)


# ---------------------------------------------------------------------------
# closed forms: parameters and multiply-accumulates

def _conv(cin: int, cout: int, k: int) -> Tuple[int, int]:
    """(parameters, MACs per output position) of a k x k conv with bias."""
    return cin * cout * k * k + cout, cin * cout * k * k


def rdb_parameter_count(c: int, g: int, layers: int) -> int:
    return sum(_conv(c + i * g, g, 3)[0] for i in range(layers)) + _conv(c + layers * g, c, 1)[0]


def grdb_parameter_count(c: int, g: int, rdbs: int, layers: int) -> int:
    return rdbs * rdb_parameter_count(c, g, layers) + _conv(rdbs * c, c, 1)[0]


def _nl_parameter_count(c: int) -> int:
    inner = max(1, c // 2)
    return 3 * _conv(c, inner, 1)[0] + _conv(inner, c, 1)[0]


def msgdn_parameter_count(cfg: dict) -> int:
    """Parameter count of :class:`MSGDNFilter` with configuration ``cfg`` (see :meth:`MSGDNFilter.config`)."""
    return int(msgdn_cost(cfg)["parameters"])


def msgdn_cost(cfg: dict) -> dict:
    """``{"parameters", "kmac_per_pixel"}`` of a configuration, by closed form.

    MACs per input pixel count every convolution (a layer at 1/2 resolution
    counts a quarter, at 1/4 a sixteenth) and the two attention products of
    the non-local blocks (``2 * window^2 * inner`` per position); bilinear
    up-sampling, ReLU, softmax and additions are not counted.
    """
    c3, c2, c1 = cfg["channels"]
    g3, g2, g1 = cfg["growth"]
    R, L, w = int(cfg["rdbs"]), int(cfg["layers"]), int(cfg["window"])
    cin = 4 if cfg.get("qp_input", True) else 3
    params = 0
    macs = 0.0

    def add(p_m: Tuple[int, int], scale: float) -> None:
        nonlocal params, macs
        params += p_m[0]
        macs += p_m[1] * scale

    add(_conv(cin, c1, 3), 1.0)
    add(_conv(c1, c2, 3), 0.25)
    add(_conv(c2, c3, 3), 1 / 16)
    for c, g, s in ((c1, g1, 1.0), (c2, g2, 0.25), (c3, g3, 1 / 16)):
        for _ in range(R):
            for i in range(L):
                add(_conv(c + i * g, g, 3), s)
            add(_conv(c + L * g, c, 1), s)
        add(_conv(R * c, c, 1), s)
    add(_conv(c2 + c3, c2, 1), 0.25)
    add(_conv(c1 + c2, c1, 1), 1.0)
    for c, s in ((c2, 0.25), (c1, 1.0)):
        inner = max(1, c // 2)
        for _ in range(3):
            add(_conv(c, inner, 1), s)
        add(_conv(inner, c, 1), s)
        macs += 2 * w * w * inner * s
    add(_conv(c1, 3, 3), 1.0)
    return {"parameters": params, "kmac_per_pixel": macs / 1000.0}


# ---------------------------------------------------------------------------
# inference on whole pictures: tiles with overlap

def _tiles(n: int, tile: int, overlap: int, align: int) -> List[Tuple[int, int, int, int]]:
    """(src_start, src_end, keep_start, keep_end) along one axis: kept parts
    of ``tile`` samples (aligned to ``align``) tile the axis, each computed on
    a window extended by ``overlap`` on both sides (clipped to the picture)."""
    out = []
    for k0 in range(0, n, tile):
        k1 = min(n, k0 + tile)
        s0 = max(0, (k0 - overlap) // align * align)
        s1 = min(n, k1 + overlap)
        out.append((s0, s1, k0, k1))
    return out


@torch.no_grad()
def apply_postfilter(module, rgb, qp: float, *, tile: int = 512, overlap: int = 32) -> "object":
    """Filter an (H, W, 3) uint8 RGB array with a post-filter module
    (:class:`MSGDNFilter` or its TorchScript export); returns uint8 RGB.

    Pictures larger than ``tile`` (+ overlap) are cut into ``tile`` x ``tile``
    tiles, each filtered with ``overlap`` extra context on every side (tile
    origins on a multiple of 16, so the region grid of the non-local blocks
    is the whole picture's); peak memory depends on ``tile``, not on the
    picture. ``tile=0``: the whole picture at once.
    """
    import numpy as np

    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"post-filter input must be an (H, W, 3) uint8 RGB array, got {a.dtype} {a.shape}")
    H, W = a.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).unsqueeze(0)
    q = torch.tensor([float(qp)], dtype=torch.float32)
    out = torch.empty((1, 3, H, W), dtype=torch.uint8)

    def run(t: torch.Tensor) -> torch.Tensor:
        y = module(t.float(), q)
        return torch.clamp(torch.floor(y + 0.5), 0, 255).to(torch.uint8)

    if tile <= 0 or (H <= tile + 2 * overlap and W <= tile + 2 * overlap):
        out[:] = run(x)
    else:
        for (sy0, sy1, ky0, ky1) in _tiles(H, tile, overlap, 16):
            for (sx0, sx1, kx0, kx1) in _tiles(W, tile, overlap, 16):
                y = run(x[:, :, sy0:sy1, sx0:sx1])
                out[:, :, ky0:ky1, kx0:kx1] = y[:, :, ky0 - sy0:ky1 - sy0, kx0 - sx0:kx1 - sx0]
    return out[0].permute(1, 2, 0).contiguous().numpy()


# ---------------------------------------------------------------------------
# MSGDN-GAN: discriminator, relativistic average losses, VGG-19 features

class Discriminator(nn.Module):
    """VGG-style discriminator (no normalisation layers): pairs of 3x3 convs
    (the second of stride 2) with LeakyReLU(0.2), widths ``base * 2^i`` (at
    most 512), global average pooling and two linear layers -> one logit
    (the critic C(x) of the relativistic average GAN)."""

    def __init__(self, base: int = 64, stages: int = 4, in_channels: int = 3):
        super().__init__()
        layers: List[nn.Module] = []
        c = in_channels
        for i in range(stages):
            w = min(512, base * (2 ** i))
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
                       nn.Conv2d(w, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(c, 100), nn.LeakyReLU(0.2, inplace=True), nn.Linear(100, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: RGB in 0..1 (B,3,H,W) -> (B,) logits."""
        return self.head(self.features(x - 0.5).mean(dim=(2, 3))).squeeze(1)


def ragan_d_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss of the relativistic average GAN:
    -E[log D(xr, xf)] - E[log(1 - D(xf, xr))], D(a, b) = sigmoid(C(a) - E[C(b)])."""
    dr = c_real - c_fake.mean()
    df = c_fake - c_real.mean()
    return (F.binary_cross_entropy_with_logits(dr, torch.ones_like(dr))
            + F.binary_cross_entropy_with_logits(df, torch.zeros_like(df)))


def ragan_g_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Generator's adversarial loss, the symmetric form:
    -E[log(1 - D(xr, xf))] - E[log D(xf, xr)]."""
    dr = c_real - c_fake.mean()
    df = c_fake - c_real.mean()
    return (F.binary_cross_entropy_with_logits(dr, torch.zeros_like(dr))
            + F.binary_cross_entropy_with_logits(df, torch.ones_like(df)))


#: torchvision's VGG-19 ``features`` configuration ("E"): conv widths, "M" = 2x2 max-pool.
VGG19_CFG: List[object] = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                           512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """torchvision's ``vgg19().features`` layout (conv 3x3 + ReLU, max-pools;
    module indices as in torchvision, so its state_dict loads as it is),
    cut after module ``last`` (34: conv5_4 before its ReLU, ESRGAN's
    perceptual feature). ``width_div`` > 1 divides every width (small random
    networks for tests). Input: RGB in 0..1; ImageNet normalisation inside."""

    def __init__(self, last: int = 34, width_div: int = 1):
        super().__init__()
        mods: List[nn.Module] = []
        c = 3
        for v in VGG19_CFG:
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2))
            else:
                w = max(1, int(v) // width_div)
                mods += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU(inplace=False)]
                c = w
        self.features = nn.Sequential(*mods[:last + 1])
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.std)

    def load_torchvision_state_dict(self, sd: dict) -> int:
        """Load a torchvision VGG-19 state_dict (keys ``features.N.weight``;
        ``classifier.*`` ignored) or a bare ``features`` one (``N.weight``).
        Returns the number of tensors loaded; raises ValueError on a
        mismatch."""
        own = self.features.state_dict()
        got = {}
        for k, v in sd.items():
            key = k[len("features."):] if k.startswith("features.") else k
            if key in own:
                if tuple(v.shape) != tuple(own[key].shape):
                    raise ValueError(f"VGG-19 weight {k}: shape {tuple(v.shape)}, expected {tuple(own[key].shape)}")
                got[key] = v
        missing = sorted(set(own) - set(got))
        if missing:
            raise ValueError(f"not a VGG-19 state_dict (torchvision layout): missing {missing[:4]}"
                             f"{' ...' if len(missing) > 4 else ''}")
        self.features.load_state_dict(got)
        return len(got)


def load_vgg19_features(path, last: int = 34) -> VGG19Features:
    """VGG-19 features with the weights of ``path`` (a torchvision state_dict
    saved with ``torch.save``, e.g. ``vgg19-dcbb9e9d.pth``)."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"VGG-19 weight file not found: {str(p)!r}")
    sd = torch.load(str(p), map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise ValueError(f"{str(p)!r} does not hold a state_dict")
    m = VGG19Features(last)
    m.load_torchvision_state_dict(sd)
    return m.eval()
