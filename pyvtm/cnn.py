"""Model resolution for the CNN coding tools (CNNIF, CNNMC).

A model is named by a registry name of :mod:`pyvtm.zoo` (e.g. ``"cnnif_s"``)
or by the path of a TorchScript file written by ``pyvtm export``. Streams
carry the model id (``pyvtm.model_id`` metadata) of the model they were
encoded with; :func:`find_model` maps it back to an installed model.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

__all__ = ["DEFAULT_MODELS", "resolve_model", "model_id", "find_model"]

#: Registry names tried, in order, when a tool is switched on without a model.
#: The integer models come first: they give the same picture on every CPU
#: (pyvtm.models.intnet); the float ones do not.
DEFAULT_MODELS = {"cnnif": ("cnnif_s_int", "cnnif_s", "cnnif"), "cnnmc": ("cnnmc_int", "cnnmc")}


def resolve_model(kind: str, spec=None) -> Path:
    """Path of the model file for tool ``kind`` ("cnnif" or "cnnmc")."""
    from . import zoo

    if kind not in DEFAULT_MODELS:
        raise ValueError(f"unknown CNN tool {kind!r}; expected 'cnnif' or 'cnnmc'")
    if spec is None:
        for name in DEFAULT_MODELS[kind]:
            if name in zoo.available():
                return zoo.path(name)
        raise ValueError(f"no trained {kind} model is installed (looked for {', '.join(DEFAULT_MODELS[kind])} "
                         f"in pyvtm/weights); pass models={{'{kind}': 'path/to/model.pt'}}")
    if isinstance(spec, (str, os.PathLike)) and Path(spec).is_file():
        return Path(spec)
    if isinstance(spec, str) and spec in zoo.REGISTRY:
        try:
            return zoo.path(spec)
        except FileNotFoundError as e:
            raise ValueError(str(e)) from e
    raise ValueError(f"{kind} model {spec!r} is neither a model file nor a registered model name "
                     f"({', '.join(sorted(zoo.REGISTRY))})")


def model_id(path) -> str:
    """The ``pyvtm.model_id`` of a model file (ValueError for a bad file)."""
    from . import _core

    return str(_core.cnn_model_info(str(path))["model_id"])


def find_model(kind: str, wanted_id: str, spec=None) -> Optional[Path]:
    """The installed (or given) model of ``kind`` whose id is ``wanted_id``."""
    from . import zoo

    if spec is not None:
        p = resolve_model(kind, spec)
        if model_id(p) != wanted_id:
            raise ValueError(f"the stream was encoded with {kind} model {wanted_id!r}, "
                             f"but the given model {str(p)!r} is {model_id(p)!r}")
        return p
    for name in zoo.available():
        p = zoo.path(name)
        try:
            if model_id(p) == wanted_id:
                return p
        except ValueError:
            continue
    return None
