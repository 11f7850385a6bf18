"""High-level Python API: :func:`encode` and :class:`EncodeResult`."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .colour import rgb_to_ycbcr, ycbcr_to_rgb

__all__ = ["encode", "EncodeResult", "MAX_DIMENSION", "CODING_OPTIONS"]

#: Largest accepted picture width or height.
MAX_DIMENSION = 16384

#: Extra keyword options of :func:`encode` (fields of the C++ EncoderConfig).
CODING_OPTIONS = ("max_cu_log2", "min_cu_log2", "intra_rd_candidates", "rdo_split", "rdoq",
                  "deblocking", "deblocking_offsets", "deblock_aware", "sao", "alf", "ccalf", "chroma_qp_offset", "preset", "split_search", "mtt", "dual_tree", "cclm",
                  "mrl", "mip", "dep_quant", "sign_hiding", "mts", "lfnst", "transform_skip", "bdpcm", "joint_cbcr",
                  "chroma_qp_table", "isp", "lmcs")

#: Coding tools with an on/off switch (``encode(img, qp, lfnst=False)``); defaults
#: come from the C++ EncoderConfig.
TOOL_OPTIONS = ("mtt", "dual_tree", "cclm", "mrl", "mip", "dep_quant", "sign_hiding", "mts", "lfnst", "transform_skip",
                "bdpcm", "joint_cbcr", "chroma_qp_table", "isp", "lmcs")

#: Chroma QP mapping tables of the SPS (``chroma_qp_table=`` option): the
#: identity, VTM's all-intra table for SDR content, VVenC's (the medium
#: preset's default; fast and slow: the identity). True means "vtm", False
#: "identity".
CHROMA_QP_TABLES = {"identity": 0, "vtm": 1, "vvenc": 2}

_BOOL_OPTIONS = tuple(t for t in ("rdo_split", "rdoq", "deblocking", "deblocking_offsets", "deblock_aware", "sao", "alf",
                                  "ccalf") + TOOL_OPTIONS
                      if t != "chroma_qp_table")
#: Tools whose default depends on the preset (-1 in the C++ config: the preset's choice).
_PRESET_TOOLS = ("dep_quant", "isp", "lmcs", "deblock_aware")

#: Speed presets of the encoder search (``preset=`` option).
PRESETS = {"fast": 0, "medium": 1, "slow": 2}


@dataclass
class EncodeResult:
    """Outcome of :func:`encode`.

    Attributes:
        bitstream: the VVC Annex-B byte stream (one IDR picture).
        recon_rgb: (height, width, 3) uint8 reconstruction converted with
            :func:`pyvtm.ycbcr_to_rgb`, cropped to the original input size
            (also present for YCbCr input).
        recon_ycbcr: (Y, Cb, Cr) uint16 planes exactly as the encoder returns
            them, i.e. what a conforming decoder outputs: the picture with
            width/height rounded up to even.
        width, height: the original input size.
        qp: the slice QP.
        bits: ``8 * len(bitstream)``.
        bpp: ``bits / (width * height)`` (whole bitstream, headers included).
        psnr_y: PSNR of the 10-bit luma (peak 1023) against the encoder's
            input luma, over the original size (inf when identical).
        psnr_rgb: PSNR of ``recon_rgb`` against the input RGB (peak 255, all
            three channels); None when the input was YCbCr planes.
        seconds: wall time of the encoder call (``_core.encode_picture``).
    """

    bitstream: bytes
    recon_rgb: np.ndarray = field(repr=False)
    recon_ycbcr: tuple = field(repr=False)
    width: int
    height: int
    qp: int
    bits: int
    bpp: float
    psnr_y: float
    psnr_rgb: Optional[float]
    seconds: float
    #: IntraPredModeY per 4x4 luma unit of the coded picture (coded size / 4).
    luma_modes: Optional[np.ndarray] = field(default=None, repr=False)
    #: model ids of the CNN tools used, e.g. {"cnnif": "..."}.
    cnn_models: dict = field(default_factory=dict)
    #: post-filter (``encode(..., postfilter=...)``): {"model_id", "path", "seconds"}; None without one.
    postfilter: Optional[dict] = None
    #: with a post-filter: the decoded picture before it (what a standard decoder outputs, as RGB),
    #: and its PSNR-RGB; ``recon_rgb`` / ``psnr_rgb`` are then the post-filtered picture's.
    recon_rgb_unfiltered: Optional[np.ndarray] = field(default=None, repr=False)
    psnr_rgb_unfiltered: Optional[float] = None

    def save(self, path) -> Path:
        """Write the bitstream to ``path`` (conventionally ``*.266``)."""
        path = Path(path)
        path.write_bytes(self.bitstream)
        return path


def _psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def _check_size(h: int, w: int) -> None:
    if h == 0 or w == 0:
        raise ValueError(f"image is empty ({w}x{h})")
    if h > MAX_DIMENSION or w > MAX_DIMENSION:
        raise ValueError(f"image is {w}x{h}; the maximum picture size is "
                         f"{MAX_DIMENSION}x{MAX_DIMENSION}")


def _rgb_from_array(a: np.ndarray) -> np.ndarray:
    if a.dtype != np.uint8:
        raise TypeError(f"RGB image array must have dtype uint8, got {a.dtype}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"RGB image array must have shape (H, W, 3), got {a.shape}")
    _check_size(a.shape[0], a.shape[1])
    return np.ascontiguousarray(a)


def _rgb_from_pil(img) -> np.ndarray:
    if img.width == 0 or img.height == 0:
        raise ValueError(f"image is empty ({img.width}x{img.height})")
    return _rgb_from_array(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _rgb_from_path(path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"cannot read image {str(p)!r}: no such file")
    try:
        with Image.open(p) as img:
            img.load()
            return _rgb_from_pil(img)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {str(p)!r}: {e}") from e


def _planes_from_tuple(planes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(planes) != 3:
        raise ValueError(f"planar YCbCr input must be 3 arrays (Y, Cb, Cr), got {len(planes)}")
    names = ("Y", "Cb", "Cr")
    for name, p in zip(names, planes):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{name} plane must be a numpy array, got {type(p).__name__}")
        if p.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"{name} plane must have dtype uint8 (8-bit) or uint16 (10-bit), "
                            f"got {p.dtype}")
        if p.ndim != 2:
            raise ValueError(f"{name} plane must be 2-D, got shape {p.shape}")
    dtypes = {p.dtype for p in planes}
    if len(dtypes) != 1:
        raise TypeError(f"Y, Cb and Cr planes must share one dtype, got {[str(p.dtype) for p in planes]}")
    y, cb, cr = planes
    h, w = y.shape
    _check_size(h, w)
    cshape = ((h + 1) // 2, (w + 1) // 2)
    for name, p in zip(names[1:], (cb, cr)):
        if p.shape != cshape:
            raise ValueError(f"{name} plane must have shape {cshape} for a {w}x{h} luma plane "
                             f"(4:2:0), got {p.shape}")
    if y.dtype == np.uint8:
        out = tuple(np.ascontiguousarray(p, dtype=np.uint16) << 2 for p in planes)
    else:
        for name, p in zip(names, planes):
            m = int(p.max())
            if m > 1023:
                raise ValueError(f"{name} plane has value {m}; uint16 planes hold 10-bit samples (0..1023)")
        out = tuple(np.ascontiguousarray(p, dtype=np.uint16) for p in planes)
    return out  # type: ignore[return-value]


def _check_qp(qp) -> int:
    if isinstance(qp, (bool, np.bool_)) or not isinstance(qp, (int, np.integer)):
        raise TypeError(f"qp must be an int, got {type(qp).__name__}")
    qp = int(qp)
    if not 0 <= qp <= 63:
        raise ValueError(f"qp must be in 0..63, got {qp}")
    return qp


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(CODING_OPTIONS))
    if unknown:
        raise TypeError(f"unknown encode option(s) {unknown}; valid options: {list(CODING_OPTIONS)}")
    out = {}
    for k, v in options.items():
        if k == "preset":
            if v not in PRESETS:
                raise ValueError(f"preset must be one of {list(PRESETS)}, got {v!r}")
            out[k] = PRESETS[v]
        elif k == "chroma_qp_table":
            if isinstance(v, (bool, np.bool_)):
                out[k] = CHROMA_QP_TABLES["vtm" if v else "identity"]
            elif isinstance(v, str) and v in CHROMA_QP_TABLES:
                out[k] = CHROMA_QP_TABLES[v]
            elif isinstance(v, str):
                raise ValueError(f"chroma_qp_table must be a bool or one of {list(CHROMA_QP_TABLES)}, got {v!r}")
            else:
                raise TypeError(f"option chroma_qp_table must be a bool or one of {list(CHROMA_QP_TABLES)}, "
                                f"got {type(v).__name__}")
        elif k in _BOOL_OPTIONS:
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"option {k} must be a bool, got {type(v).__name__}")
            # dep_quant / isp / lmcs: an int in the C++ config (-1: the preset's choice).
            out[k] = int(bool(v)) if k in _PRESET_TOOLS else bool(v)
        else:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"option {k} must be an int, got {type(v).__name__}")
            out[k] = int(v)
    return out


def encode(img, qp: int = 32, *, cnnif: bool = False, cnnmc: bool = False, models=None,
           postfilter=None, **options) -> EncodeResult:
    """Encode one picture as a VVC intra (IDR) bitstream.

    Args:
        img: an (H, W, 3) uint8 RGB numpy array; a ``PIL.Image`` (converted to
            RGB); a ``str``/``os.PathLike`` path to an image file readable by
            Pillow; or planar 4:2:0 YCbCr as a tuple/list ``(Y, Cb, Cr)`` of
            numpy arrays (Y is H x W, Cb/Cr are ceil(H/2) x ceil(W/2)), all
            uint8 (8-bit, scaled by 4 to 10-bit) or all uint16 (10-bit,
            values <= 1023). RGB input is converted with
            :func:`pyvtm.rgb_to_ycbcr` (BT.601 full range, 10-bit).
        qp: slice QP, an int in 0..63.
        cnnif: apply the CNN in-loop filter (after deblocking, switched per
            CTU by RD; signalled in an SEI message that standard decoders
            ignore: they output the picture before the filter).
        cnnmc: derive the MPM lists with the CNN predictor (the stream then
            needs pyvtm's decoder with the same model; standard decoders
            refuse it).
        models: optional dict ``{"cnnif": name_or_path, "cnnmc": name_or_path}``
            choosing the models (registry names of :mod:`pyvtm.zoo` or files
            written by ``pyvtm export``); defaults to the shipped models.
        postfilter: a post-filter of the decoded picture (:mod:`pyvtm.postfilters`:
            ``"msgdn"``, ``"msgdn_gan"``, a registry name, a model file, or
            ``True`` = ``"msgdn"``; None / False: none). The stream then
            carries the H.274 neural-network post-filter SEI messages naming
            it (NNPFC + NNPFA, :mod:`pyvtm.nnpf`; counted in ``bits``/``bpp``;
            standard decoders ignore them), ``recon_rgb`` / ``psnr_rgb`` are
            the post-filtered picture's, and ``recon_rgb_unfiltered`` /
            ``psnr_rgb_unfiltered`` the decoded picture's before the filter.
            ``recon_ycbcr`` / ``psnr_y`` stay the decoder output's.
        **options: coding options (fields of the C++ ``EncoderConfig``, see
            :data:`CODING_OPTIONS`): ``max_cu_log2`` (CTU size, default 7),
            ``min_cu_log2`` (default 2), ``intra_rd_candidates`` (0: the
            preset's), ``rdo_split`` (default True), ``rdoq`` (default True),
            ``deblocking`` (default True), ``deblocking_offsets`` (default
            True: the PPS beta / tc offsets of each component that give the
            least squared error after deblocking, -3..3 each; False: all 0),
            ``deblock_aware`` (deblocking-aware split decisions, as the
            reference encoders' EDO: each coding unit's cost includes the
            change in squared error that deblocking its left, top and inner
            edges makes; default: on at medium and slow, off at fast),
            ``chroma_qp_offset`` (-12..12,
            default 0), ``preset`` ("fast", "medium" (default) or "slow":
            search effort; medium adds dependent quantisation, ISP and a
            deeper split search to fast's), ``split_search`` (the medium
            preset's split-search operating point, 0..5: 0 the earlier
            depth-1 search, 2..5 multi-type depth 2 or 3 with pruning; -1
            (default) point 5; see encoder.cpp effort_for()), and the tool
            switches ``mtt``
            (binary/ternary splits), ``dual_tree`` (separate luma/chroma
            trees), ``cclm`` (cross-component chroma prediction), ``mip``
            (matrix-based intra prediction of luma) and ``mrl`` (luma
            reference lines 1 and 2 with the MPM modes), all default True.
            Residual tools and loop filters: ``mts``, ``lfnst``,
            ``sign_hiding`` (where dependent quantisation is off),
            ``joint_cbcr``, ``sao``, ``alf``, ``ccalf`` (default True);
            ``dep_quant`` (dependent quantisation) and ``isp`` (intra
            sub-partitions): default on at medium and slow, off at fast
            (True / False force them); ``lmcs`` (luma mapping with chroma
            scaling, a per-picture model from the source luma; default
            off); ``transform_skip``, ``bdpcm``; ``chroma_qp_table``, the
            SPS chroma QP mapping table: "identity", "vtm" (VTM's
            all-intra table; also True) or "vvenc" (VVenC's), default
            "vvenc" at medium and "identity" at fast and slow (False:
            "identity"; it moves bits between luma and chroma, see the
            README's tool table).

    Raises:
        TypeError: wrong input type / dtype, qp or option of wrong type.
        ValueError: empty or oversized image (max 16384x16384), wrong shape,
            qp out of range, unreadable file, out-of-range samples.
        ValueError: also for a missing, corrupt or mismatched CNN model.
    """
    qp = _check_qp(qp)
    opts = _check_options(options)
    if models is not None and not isinstance(models, dict):
        raise TypeError("models must be a dict like {'cnnif': 'cnnif_s', 'cnnmc': 'path/model.pt'}")
    models = dict(models or {})
    unknown = set(models) - {"cnnif", "cnnmc"}
    if unknown:
        raise ValueError(f"unknown CNN tool(s) in models: {sorted(unknown)}; expected 'cnnif', 'cnnmc'")
    from .cnn import resolve_model
    if cnnif:
        opts["cnnif_model"] = str(resolve_model("cnnif", models.get("cnnif")))
    if cnnmc:
        opts["cnnmc_model"] = str(resolve_model("cnnmc", models.get("cnnmc")))
    pf_model = pf_path = None
    if postfilter is not None and postfilter is not False:
        from .postfilters import load_postfilter, resolve_postfilter

        pf_path = str(resolve_postfilter(postfilter))
        pf_model = load_postfilter(pf_path)

    rgb: Optional[np.ndarray] = None
    if isinstance(img, (str, os.PathLike)):
        rgb = _rgb_from_path(img)
    elif isinstance(img, np.ndarray):
        rgb = _rgb_from_array(img)
    elif isinstance(img, (tuple, list)):
        planes = _planes_from_tuple(img)
    else:
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover
            Image = None
        if Image is not None and isinstance(img, Image.Image):
            rgb = _rgb_from_pil(img)
        else:
            raise TypeError("img must be an (H, W, 3) uint8 numpy array, a PIL.Image, a path, "
                            f"or a (Y, Cb, Cr) tuple of numpy arrays; got {type(img).__name__}")
    if rgb is not None:
        planes = rgb_to_ycbcr(rgb)

    y, cb, cr = planes
    height, width = y.shape

    from . import _core

    t0 = time.perf_counter()
    out = _core.encode_picture(y, cb, cr, width, height, qp=qp, **opts)
    seconds = time.perf_counter() - t0

    bitstream = bytes(out["bitstream"])
    recon = (out["y"], out["cb"], out["cr"])
    recon_rgb = ycbcr_to_rgb(*recon)[:height, :width]
    psnr_y = _psnr(recon[0][:height, :width], y, 1023.0)
    psnr_rgb = _psnr(recon_rgb, rgb, 255.0) if rgb is not None else None
    pf_info = unfiltered = psnr_unf = None
    if pf_model is not None:
        from .models.msgdn import apply_postfilter
        from .nnpf import add_postfilter_sei
        from .postfilters import DEFAULT_OVERLAP, DEFAULT_TILE

        module, meta = pf_model
        t1 = time.perf_counter()
        unfiltered, psnr_unf = recon_rgb, psnr_rgb
        # the filter sees the whole decoded (even-size) picture, as a decoder does
        full = ycbcr_to_rgb(*recon)
        recon_rgb = apply_postfilter(module, full, qp, tile=DEFAULT_TILE, overlap=DEFAULT_OVERLAP)[:height, :width]
        psnr_rgb = _psnr(recon_rgb, rgb, 255.0) if rgb is not None else None
        bitstream = add_postfilter_sei(bitstream, meta["model_id"], overlap=DEFAULT_OVERLAP, patch_size=DEFAULT_TILE)
        pf_info = {"model_id": meta["model_id"], "path": pf_path, "seconds": time.perf_counter() - t1}
    bits = 8 * len(bitstream)
    return EncodeResult(
        bitstream=bitstream,
        recon_rgb=np.ascontiguousarray(recon_rgb),
        recon_ycbcr=recon,
        width=width,
        height=height,
        qp=qp,
        bits=bits,
        bpp=bits / (width * height),
        psnr_y=psnr_y,
        psnr_rgb=psnr_rgb,
        seconds=seconds,
        luma_modes=out["modes"],
        cnn_models={k: out[f"{k}_model_id"] for k in ("cnnif", "cnnmc") if out[f"{k}_model_id"]},
        postfilter=pf_info,
        recon_rgb_unfiltered=None if unfiltered is None else np.ascontiguousarray(unfiltered),
        psnr_rgb_unfiltered=psnr_unf,
    )
