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
from typing import Union

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
            ``non_square_cus``, ``chroma_tree_cus`` (dual tree),
            ``local_dual_tree_cus``, ``splits`` (count per split mode:
            none, qt, bt_hor, bt_ver, tt_hor, tt_ver), ``cclm`` (chroma
            CUs with the LT, L and T CCLM modes), ``transform_skip`` (coded
            Y, Cb, Cr TBs with transform_skip_flag, BDPCM included) and
            ``bdpcm`` (CUs with luma / chroma BDPCM).
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

    @property
    def rgb(self) -> np.ndarray:
        """(height, width, 3) uint8 RGB via :func:`pyvtm.ycbcr_to_rgb` (pyvtm's
        fixed BT.601 full-range conversion, whatever the VUI says)."""
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


def decode_picture(data: BitstreamLike, *, models=None, cnnif: bool = True) -> DecodedPicture:
    """Decode a VVC bitstream (bytes or a path) into a :class:`DecodedPicture`.

    Streams that use pyvtm's CNN tools name the model they were encoded
    with; the matching installed model (:mod:`pyvtm.zoo`) is loaded
    automatically, or the one given in ``models={"cnnif": ..., "cnnmc": ...}``
    (it must have the same model id). ``cnnif=False`` skips the CNN in-loop
    filter and returns the picture a standard decoder outputs.

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
    return DecodedPicture(
        ycbcr=(out["y"], out["cb"], out["cr"]),
        width=int(out["width"]),
        height=int(out["height"]),
        coded_width=int(out["coded_width"]),
        coded_height=int(out["coded_height"]),
        qp=int(out["slice_qp"]),
        colour=tuple(out["colour"]),
        seconds=float(out["seconds"]),
        syntax=dict(out.get("syntax", {})),
    )


def decode(data: BitstreamLike, *, ycbcr: bool = False, models=None, cnnif: bool = True):
    """Decode a VVC bitstream (bytes or a path to a ``.266`` file).

    Returns the picture as an (H, W, 3) uint8 RGB array (converted with
    :func:`pyvtm.ycbcr_to_rgb`), or with ``ycbcr=True`` the planar
    ``(Y, Cb, Cr)`` uint16 10-bit planes exactly as decoded. H and W are the
    decoded (conformance-window) size, i.e. the encoder's input size rounded
    up to even. :func:`decode_picture` returns both plus the stream's info.

    Raises:
        TypeError: ``data`` is neither bytes-like nor a path.
        ValueError: unreadable file; malformed, truncated or unsupported
            stream.
    """
    pic = decode_picture(data, models=models, cnnif=cnnif)
    return pic.ycbcr if ycbcr else pic.rgb
