"""Post-filters of the decoded picture (MSGDN, :mod:`pyvtm.models.msgdn`).

>>> rgb = pyvtm.decode("photo.266")                        # filtered when the stream activates a post-filter
>>> out = pyvtm.postfilter(rgb, model="msgdn", qp=40)      # any decoded picture

A post-filter is named by a registry name of :mod:`pyvtm.zoo` (``msgdn_s``,
``msgdn``, ``msgdn_gan``, ``msgdn_s_gan``), by a family name (``"msgdn"``:
the best installed of ``msgdn``, ``msgdn_s``; ``"msgdn_gan"``: of
``msgdn_gan``, ``msgdn_s_gan``; ``True`` means ``"msgdn"``) or by the path
of a file written by ``pyvtm export``. Streams name the model by its id
(``pyvtm.model_id``) in an H.274 NNPFC SEI message (:mod:`pyvtm.nnpf`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

__all__ = ["FAMILIES", "resolve_postfilter", "load_postfilter", "find_postfilter", "postfilter",
           "DEFAULT_TILE", "DEFAULT_OVERLAP"]

#: family name -> registry names tried in order.
FAMILIES = {"msgdn": ("msgdn", "msgdn_s"), "msgdn_gan": ("msgdn_gan", "msgdn_s_gan")}
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 32
_CACHE: Dict[Tuple[str, float], Tuple[object, dict]] = {}


def resolve_postfilter(spec=True) -> Path:
    """The model file of a post-filter name / family / path (ValueError if none)."""
    from . import zoo

    if spec is True:
        spec = "msgdn"
    if isinstance(spec, (str, os.PathLike)) and Path(spec).is_file():
        return Path(spec)
    if isinstance(spec, str):
        if spec in zoo.REGISTRY and zoo.REGISTRY[spec]["kind"] == "postfilter" and spec in zoo.available():
            return zoo.path(spec)
        names = FAMILIES.get(spec, (spec,) if spec in zoo.REGISTRY else ())
        for name in names:
            if name in zoo.available() and zoo.REGISTRY[name]["kind"] == "postfilter":
                return zoo.path(name)
        if names:
            raise ValueError(f"no trained {spec!r} post-filter is installed (looked for {', '.join(names)} in "
                             f"pyvtm/weights); pass a model file written by `pyvtm export`")
    known = sorted(set(FAMILIES) | {n for n, e in zoo.REGISTRY.items() if e["kind"] == "postfilter"})
    raise ValueError(f"post-filter {spec!r} is neither a model file nor a known name ({', '.join(known)})")


def load_postfilter(spec=True):
    """``(module, metadata)`` of a post-filter (cached per file)."""
    from .utils.export import load_model

    p = resolve_postfilter(spec)
    key = (str(p.resolve()), p.stat().st_mtime)
    if key not in _CACHE:
        _CACHE[key] = load_model(p, kind="postfilter")
    return _CACHE[key]


def find_postfilter(model_id: str) -> Optional[Path]:
    """The installed post-filter whose model id is ``model_id``, or None."""
    from . import zoo
    from .utils.export import ModelFileError

    for name in zoo.available():
        if zoo.REGISTRY[name]["kind"] != "postfilter":
            continue
        try:
            if load_postfilter(zoo.path(name))[1]["model_id"] == model_id:  # cached per file
                return zoo.path(name)
        except ModelFileError:
            continue
    return None


def postfilter(rgb, model=True, qp: Optional[float] = None, *, tile: int = DEFAULT_TILE,
               overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
    """Post-filter a decoded picture: (H, W, 3) uint8 RGB -> (H, W, 3) uint8 RGB.

    Args:
        rgb: the decoded picture (e.g. ``pyvtm.decode(data, postfilter=False)``).
        model: post-filter name, family, path, or ``True`` (``"msgdn"``).
        qp: the slice QP the picture was coded with (the filter's strength
            input); required.
        tile, overlap: pictures larger than ``tile`` (+ 2 x overlap) are
            filtered in ``tile`` x ``tile`` tiles, each with ``overlap``
            samples of context on every side: memory stays bounded (see
            docs/msgdn.md for the peak); ``tile=0`` filters in one piece.
    """
    from .models.msgdn import apply_postfilter

    if qp is None:
        raise TypeError("postfilter() needs qp=, the slice QP of the decoded picture")
    if isinstance(qp, bool) or not isinstance(qp, (int, float, np.integer, np.floating)):
        raise TypeError(f"qp must be a number, got {type(qp).__name__}")
    module, _ = load_postfilter(model)
    return apply_postfilter(module, rgb, float(qp), tile=tile, overlap=overlap)
