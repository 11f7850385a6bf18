"""Decoding: :func:`decode` and :func:`decode_picture` (pyvtm's own VVC decoder).

The decoder (C++, ``cpp/decoder.cpp``) reads the Annex-B streams pyvtm
writes: one IDR picture, Main 10, 4:2:0, 10-bit, with the coding tools the
encoder uses. Streams that enable a tool it does not implement are refused
with a ``ValueError`` naming the tool; malformed or truncated input is a
``ValueError`` too, never a crash.

>>> rgb = pyvtm.decode("photo.266")                 # (H, W, 3) uint8
>>> y, cb, cr = pyvtm.decode("photo.266", ycbcr=True)  # uint16 10-bit planes
>>> pic = pyvtm.decode_picture(data)                 # everything, see DecodedPicture
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .colour import ycbcr_to_rgb

__all__ = ["decode", "decode_picture", "DecodedPicture"]

BitstreamLike = Union[bytes, bytearray, memoryview, str, os.PathLike]


@dataclass
class DecodedPicture:
    """Outcome of :func:`decode_picture`.

    Attributes:
        ycbcr: (Y, Cb, Cr) uint16 planes with 10-bit samples: the output
            picture of a conforming decoder (the coded picture cropped to the
            conformance window). Y is (height, width), Cb/Cr are
            (height/2, width/2).
        width, height: output size (even: 4:2:0 cropping is in units of 2).
        coded_width, coded_height: coded size before cropping (multiples of 8).
        qp: the slice QP (SliceQpY).
        colour: (colour_primaries, transfer_characteristics, matrix_coeffs,
            full_range) from the SPS VUI (H.273 "unspecified" 2, 2, 2, False
            when the stream has no VUI).
        seconds: wall time of the C++ decoder call.
        syntax: what the coding tree holds: ``coding_units``,
            ``non_square_cus``, ``luma_cus_4x4`` (luma CUs of 4x4: below
            the 8x8 MinQtSizeY they need multi-type depth 2),
            ``chroma_tree_cus`` (dual tree),
            ``local_dual_tree_cus``, ``splits`` (count per split mode:
            none, qt, bt_hor, bt_ver, tt_hor, tt_ver), ``cclm`` (chroma
            CUs with the LT, L and T CCLM modes), ``lfnst`` (CUs with
            lfnst_idx 1, 2), ``lfnst_chroma`` (of those, chroma-tree CUs),
            ``mts`` (CUs with mts_idx 1..4), ``transform_skip`` (coded
            Y, Cb, Cr TBs with transform_skip_flag, BDPCM included),
            ``bdpcm`` (CUs with luma / chroma BDPCM), ``mip`` (luma CUs
            with intra_mip_flag), ``mip_transposed`` (of those, with
            intra_mip_transposed_flag), ``mrl`` (CUs with
            intra_luma_ref_idx 1, 2: multiple reference lines),
            ``isp`` (CUs with ISP_HOR_SPLIT, ISP_VER_SPLIT), ``isp_narrow`` (of those,
            with sub-partitions 1 or 2 samples wide or tall), ``lmcs``
            (slices with sh_lmcs_used_flag: luma mapping with chroma
            scaling) and ``lmcs_chroma_scaling`` (of those, with
            ph_chroma_residual_scale_flag).
    """

    ycbcr: tuple = field(repr=False)
    width: int
    height: int
    coded_width: int
    coded_height: int
    qp: int
    colour: tuple
    seconds: float
    syntax: dict = field(default_factory=dict)
    #: the post-filter applied ({"model_id", "path", "seconds", "from_stream"}), None when none was.
    postfilter: Optional[dict] = None
    #: the post-filters the stream describes (NNPFC/NNPFA SEI, pyvtm.nnpf.read_postfilter_sei).
    postfilter_sei: list = field(default_factory=list, repr=False)
    postfiltered_rgb: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def rgb(self) -> np.ndarray:
        """(height, width, 3) uint8 RGB: the post-filtered picture when a
        post-filter was applied, else :func:`pyvtm.ycbcr_to_rgb` of ``ycbcr``
        (pyvtm's fixed BT.601 full-range conversion, whatever the VUI says)."""
        if self.postfiltered_rgb is not None:
            return self.postfiltered_rgb
        return ycbcr_to_rgb(*self.ycbcr)

    @property
    def rgb_unfiltered(self) -> np.ndarray:
        """The decoded picture as RGB, before any post-filter."""
        return ycbcr_to_rgb(*self.ycbcr)


def _read_bitstream(data: BitstreamLike) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, (str, os.PathLike)):
        p = Path(data)
        if not p.is_file():
            raise ValueError(f"cannot read bitstream {str(p)!r}: no such file")
        try:
            return p.read_bytes()
        except OSError as e:
            raise ValueError(f"cannot read bitstream {str(p)!r}: {e}") from e
    raise TypeError("data must be bytes (an Annex-B VVC stream) or a path to a .266 file, "
                    f"got {type(data).__name__}")


def decode_picture(data: BitstreamLike, *, models=None, cnnif: bool = True, postfilter=True) -> DecodedPicture:
    """Decode a VVC bitstream (bytes or a path) into a :class:`DecodedPicture`.

    Streams that use pyvtm's CNN tools name the model they were encoded
    with; the matching installed model (:mod:`pyvtm.zoo`) is loaded
    automatically, or the one given in ``models={"cnnif": ..., "cnnmc": ...}``
    (it must have the same model id). ``cnnif=False`` skips the CNN in-loop
    filter and returns the picture a standard decoder outputs.

    Post-filter (H.274 NNPFC/NNPFA SEI, :mod:`pyvtm.nnpf`): with
    ``postfilter=True`` (default) the post-filter the stream activates is
    applied when the stream names one (its installed model is found by id);
    ``postfilter=False`` skips it; a name / family / path
    (:mod:`pyvtm.postfilters`, e.g. ``"msgdn_gan"``) applies that filter
    instead, whatever the stream says. The filter works on RGB: ``rgb`` is
    the filtered picture, ``ycbcr`` stays the decoder output.

    Raises:
        TypeError: ``data`` is neither bytes-like nor a path.
        ValueError: unreadable file, malformed / truncated / unsupported
            stream (the message says what is wrong), or a CNN model the
            stream needs is not available.
    """
    from . import _core
    from .cnn import find_model

    buf = _read_bitstream(data)
    models = dict(models or {})
    info = _core.decode_bitstream(buf, probe_only=True)
    kwargs = {}
    for kind in ("cnnmc", "cnnif"):
        wanted = info[f"{kind}_model_id"]
        if not wanted or (kind == "cnnif" and not cnnif):
            continue
        path = find_model(kind, wanted, models.get(kind))
        if path is None:
            hint = " (or cnnif=False for the picture before the CNN filter)" if kind == "cnnif" else ""
            raise ValueError(f"this stream needs the {kind} model {wanted!r}, which is not installed; "
                             f"pass models={{'{kind}': 'path/to/model.pt'}}{hint}")
        kwargs[f"{kind}_model"] = str(path)
    out = _core.decode_bitstream(buf, **kwargs)
    from .nnpf import read_postfilter_sei

    sei = read_postfilter_sei(buf)
    pf_spec, from_stream = None, False
    if postfilter is True:
        act = [s for s in sei if s["active"]]
        ours = [s for s in act if s["model_id"] is not None]
        if act and not ours:
            import warnings

            warnings.warn("the stream activates a neural-network post-filter that is not a pyvtm model "
                          f"(nnpfc_uri {act[0]['nnpfc'].uri!r}); it is not applied", stacklevel=2)
        if ours:
            mid = ours[0]["model_id"]
            from .postfilters import find_postfilter

            pf_spec = find_postfilter(mid)
            if pf_spec is None:
                raise ValueError(f"this stream activates the post-filter {mid!r}, which is not installed; "
                                 "pass postfilter='path/to/model.pt' or postfilter=False")
            from_stream = True
    elif postfilter is not None and postfilter is not False:
        pf_spec = postfilter
    pic = DecodedPicture(
        ycbcr=(out["y"], out["cb"], out["cr"]),
        width=int(out["width"]),
        height=int(out["height"]),
        coded_width=int(out["coded_width"]),
        coded_height=int(out["coded_height"]),
        qp=int(out["slice_qp"]),
        colour=tuple(out["colour"]),
        seconds=float(out["seconds"]),
        syntax=dict(out.get("syntax", {})),
        postfilter_sei=sei,
    )
    if pf_spec is not None:
        import time

        from .models.msgdn import apply_postfilter
        from .postfilters import DEFAULT_OVERLAP, DEFAULT_TILE, load_postfilter, resolve_postfilter

        t0 = time.perf_counter()
        path = resolve_postfilter(pf_spec)
        module, meta = load_postfilter(path)
        pic.postfiltered_rgb = apply_postfilter(module, pic.rgb_unfiltered, pic.qp, tile=DEFAULT_TILE,
                                                overlap=DEFAULT_OVERLAP)
        pic.postfilter = {"model_id": meta["model_id"], "path": str(path), "from_stream": from_stream,
                          "seconds": time.perf_counter() - t0}
    return pic


def decode(data: BitstreamLike, *, ycbcr: bool = False, models=None, cnnif: bool = True, postfilter=True):
    """Decode a VVC bitstream (bytes or a path to a ``.266`` file).

    Returns the picture as an (H, W, 3) uint8 RGB array (converted with
    :func:`pyvtm.ycbcr_to_rgb`), or with ``ycbcr=True`` the planar
    ``(Y, Cb, Cr)`` uint16 10-bit planes exactly as decoded. H and W are the
    decoded (conformance-window) size, i.e. the encoder's input size rounded
    up to even. :func:`decode_picture` returns both plus the stream's info.
    ``postfilter``: see :func:`decode_picture` (the RGB result is the
    post-filtered picture when the stream activates a post-filter;
    ``postfilter=False`` skips it; the YCbCr planes are never filtered).

    Raises:
        TypeError: ``data`` is neither bytes-like nor a path.
        ValueError: unreadable file; malformed, truncated or unsupported
            stream.
    """
    pic = decode_picture(data, models=models, cnnif=cnnif, postfilter=False if ycbcr else postfilter)
    return pic.ycbcr if ycbcr else pic.rgb
