"""Registry of the trained CNN models shipped in ``pyvtm/weights/``.

>>> from pyvtm import zoo
>>> zoo.available()                 # names with a weight file present
>>> module, meta = zoo.load("cnnif_s")
>>> zoo.path("cnnif_s")             # the TorchScript file, for the C++ hooks

Every file is a TorchScript archive written by :mod:`pyvtm.utils.export`
with its metadata in ``_extra_files`` (kind, preset, version, qp range,
colour format, layout, normalisation, training summary; see
:func:`info`). ``load`` checks that the file's metadata matches its
registry entry.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Dict, List, Tuple

__all__ = ["REGISTRY", "available", "path", "info", "load"]

#: name -> registry entry (file in pyvtm/weights/, kind, preset, summary).
REGISTRY: Dict[str, Dict[str, object]] = {
    "cnnif_s": {
        "file": "cnnif_s.pt", "kind": "cnnif", "preset": "cnnif_s",
        "summary": "CNN in-loop filter, 2 dense residual units x 32 maps, R'G'B' layout, QP input; float32: "
                   "NOT reproducible across CPUs (kernel ISA, oneDNN, threads change its output)",
    },
    "cnnif": {
        "file": "cnnif.pt", "kind": "cnnif", "preset": "cnnif",
        "summary": "CNN in-loop filter, 8 dense residual units x 64 maps, R'G'B' layout, QP input (fp16 weights); "
                   "float32: NOT reproducible across CPUs",
    },
    "cnnif_s_int": {
        "file": "cnnif_s_int.pt", "kind": "cnnif", "preset": "cnnif_s",
        "summary": "cnnif_s as an integer network (int8 weights, int16 activations, exact float64 convolutions, "
                   "int64 requantisation; quantisation-aware fine-tuned): the same picture on every CPU, any "
                   "kernel ISA or thread count; the default CNNIF",
    },
    "cnnmc_int": {
        "file": "cnnmc_int.pt", "kind": "cnnmc", "preset": "cnnmc",
        "summary": "cnnmc as an integer network with integer logits and an exact integer softmax: the same MPM "
                   "lists on every CPU; the default CNNMC (still experimental, see docs/cnn_tools.md)",
    },
    "cnnmc": {
        "file": "cnnmc.pt", "kind": "cnnmc", "preset": "cnnmc",
        "summary": "CNN MPM predictor (67 mode probabilities per 4x4 unit of a 128x128 CTU), float32: NOT "
                   "reproducible across CPUs (a stream may not parse on another CPU); experimental: "
                   "below the standard MPM list on Kodak (top-6 50.4% vs 76.9%), see docs/cnn_tools.md",
    },
    # post-filters (pyvtm.models.msgdn, docs/msgdn.md): RGB in/out, slice QP plane
    "msgdn_s": {
        "file": "msgdn_s.pt", "kind": "postfilter", "preset": "msgdn_s",
        "summary": "MSGDN post-filter, small preset (channels 32/32/16, 2 RDBs x 4 layers, fp16 weights); "
                   "UNDERTRAINED placeholder (221 CPU steps): Kodak 0.15 bpp PSNR-RGB -0.001 dB, i.e. about "
                   "the identity; retrain (docs/msgdn.md)",
    },
    "msgdn": {
        "file": "msgdn.pt", "kind": "postfilter", "preset": "msgdn",
        "summary": "MSGDN post-filter, published size (channels 128/128/64, 4 RDBs x 8 layers), L1 then MSE "
                   "(needs a GPU training run; not shipped yet)",
    },
    "msgdn_gan": {
        "file": "msgdn_gan.pt", "kind": "postfilter", "preset": "msgdn",
        "summary": "MSGDN-GAN post-filter (generator of a relativistic average GAN fine-tuned from msgdn; "
                   "not shipped yet)",
    },
    "msgdn_s_gan": {
        "file": "msgdn_s_gan.pt", "kind": "postfilter", "preset": "msgdn_s",
        "summary": "MSGDN-GAN post-filter, small preset (fine-tuned from msgdn_s)",
    },
}


def _weights_dir() -> Path:
    return Path(str(resources.files("pyvtm") / "weights"))


def _entry(name: str) -> Dict[str, object]:
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(REGISTRY)}")
    return REGISTRY[name]


def path(name: str) -> Path:
    """Path of the weight file of ``name`` (raises FileNotFoundError when not shipped)."""
    p = _weights_dir() / str(_entry(name)["file"])
    if not p.is_file():
        raise FileNotFoundError(f"model {name!r} is registered but its weight file {p} is not shipped")
    return p


def available() -> List[str]:
    """Registered names whose weight file is present."""
    return [n for n, e in REGISTRY.items() if (_weights_dir() / str(e["file"])).is_file()]


def info(name: str) -> dict:
    """The metadata stored in the weight file of ``name``."""
    from .utils.export import read_metadata

    return read_metadata(path(name))


def load(name: str) -> Tuple[object, dict]:
    """``(module, metadata)``: the TorchScript module (float32, eval mode) of
    ``name`` and its metadata. Checks kind and preset against the registry."""
    from .utils.export import ModelFileError, load_model

    e = _entry(name)
    module, meta = load_model(path(name), kind=str(e["kind"]))
    if meta.get("preset") != e["preset"]:
        raise ModelFileError(f"weight file of {name!r} holds preset {meta.get('preset')!r}, "
                             f"expected {e['preset']!r}")
    return module, meta
