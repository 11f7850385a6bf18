"""Export trained CNN tools as TorchScript files for the C++ hooks.

``pyvtm export CHECKPOINT -o MODEL.pt [--fp16]`` or :func:`export_checkpoint`.

A model file is a TorchScript archive (``torch.jit.script``, eval mode, not
frozen) with these extra files (``_extra_files``), read by
patches/cnn_hooks.cpp and :func:`read_metadata`:

``pyvtm.kind``      ``cnnif``, ``cnnmc`` or ``postfilter`` (MSGDN, pyvtm.models.msgdn)
``pyvtm.format``    interface version (``1``; see patches/cnn_hooks.h)
``pyvtm.model_id``  ``<preset>-v<version>-<first 12 hex of sha256(weights)>``
``pyvtm.json``      all metadata (preset, version, qp range, colour format,
                    layout, normalisation, rounding, cost, training summary)

Weights may be stored as float16 (``fp16=True``, halves the file); loaders
(:func:`load_model`, the C++ hooks) convert them to float32 and run in
float32, so the stored float16 values *are* the model.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Optional, Tuple

import torch

from ..models.cnnif import CNNIFilter
from ..models.cnnmc import CNNMCExport, CNNMCNet, QUANT_SCALE

__all__ = ["FORMAT", "export_cnnif", "export_cnnmc", "export_integer", "export_msgdn", "export_checkpoint",
           "read_metadata", "load_model", "ModelFileError"]

FORMAT = "1"
COLOUR = ("YCbCr 4:2:0, 10-bit, BT.601 full range (H.273 matrix_coeffs 5, video_full_range_flag 1), "
          "centred chroma siting; pyvtm.colour")


class ModelFileError(ValueError):
    """A model file is missing, corrupt, not a pyvtm model or of the wrong kind."""


def _weights_hash(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def _save(scripted, path, kind: str, meta: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model_id = f"{meta.get('name', meta['preset'])}-v{meta['version']}-{_weights_hash(scripted)}"
    meta = {"kind": kind, "format": FORMAT, "model_id": model_id, **meta}
    extra = {"pyvtm.kind": kind, "pyvtm.format": FORMAT, "pyvtm.model_id": model_id,
             "pyvtm.json": json.dumps(meta, indent=1, sort_keys=True)}
    torch.jit.save(scripted, str(path), _extra_files=extra)
    return path


def export_cnnif(model: CNNIFilter, path, *, version: str = "1", fp16: bool = False,
                 qp_range: Tuple[int, int] = (27, 42), training: Optional[dict] = None) -> Path:
    """Script a :class:`CNNIFilter` and save it with metadata."""
    model = model.cpu().float().eval()
    scripted = torch.jit.script(model)
    if fp16:
        scripted = scripted.half()
    nparam = sum(p.numel() for p in model.parameters())
    meta = {
        "preset": model.preset, "version": version, "layout": model.layout, "qp_input": model.qp_input,
        "num_units": model.num_units, "channels": model.channels, "convs_per_unit": model.convs_per_unit,
        "qp_range": list(qp_range), "colour_format": COLOUR,
        "normalisation": ("Y/1023 - 0.5, (Cb-512)/1023, (Cr-512)/1023 (rgb layout: R'G'B'/1023 - 0.5 after "
                          "BT.601 full-range conversion with nearest-upsampled chroma); qp plane qp/63; "
                          "output correction * 1023 added to the input planes"),
        "interface": "forward(y (1,1,H,W), cb (1,1,H/2,W/2), cr, qp (1,)) float32 10-bit sample units -> "
                     "(y, cb, cr) float32, unrounded; codec rounds floor(v+0.5), clips 0..1023",
        "tile": model.tile, "margin": model.margin, "receptive_radius": model.receptive_radius,
        "parameters": int(nparam), "kmac_per_luma_sample": model.macs_per_luma_sample() / 1000.0,
        "storage_dtype": "float16" if fp16 else "float32", "compute_dtype": "float32",
        "training": training or {},
    }
    return _save(scripted, path, "cnnif", meta)


def export_cnnmc(model: CNNMCNet, path, *, version: str = "1", fp16: bool = False,
                 qp_range: Tuple[int, int] = (27, 42), training: Optional[dict] = None) -> Path:
    """Script a :class:`CNNMCNet` (wrapped in :class:`CNNMCExport`) and save it."""
    model = model.cpu().float().eval()
    scripted = torch.jit.script(CNNMCExport(model).eval())
    if fp16:
        scripted = scripted.half()
    nparam = sum(p.numel() for p in model.parameters())
    meta = {
        "preset": model.preset, "version": version, "widths": list(model.widths), "embed": model.embed_dim,
        "qp_range": list(qp_range), "colour_format": "luma only, 10-bit, before in-loop filtering",
        "normalisation": "(recon - 512)/1023, 0 where unavailable; modes embedded (index 67 = unavailable)",
        "interface": "forward(recon (1,3,128,128) float32, modes (1,3,32,32) int64 (255 = unavailable), "
                     "available (1,3) float32; order above, left, above-left) -> int32 (1,67,32,32) = "
                     f"round(softmax * {QUANT_SCALE})",
        "mpm_rule": "score = sum of quantised probabilities over the CU's 4x4 units; entry 0 planar; "
                    "entries 1..5 = top-5 non-planar by score, ties to the lower mode index",
        "quant_scale": QUANT_SCALE, "parameters": int(nparam),
        "kmac_per_luma_sample": model.macs_per_ctu() / (128 * 128) / 1000.0,
        "storage_dtype": "float16" if fp16 else "float32", "compute_dtype": "float32",
        "training": training or {},
    }
    return _save(scripted, path, "cnnmc", meta)


def export_integer(model, path, *, version: str = "2", qp_range: Tuple[int, int] = (27, 42),
                   training: Optional[dict] = None) -> Path:
    """Script an integer model of :mod:`pyvtm.models.intnet` (:class:`IntCNNIF`
    or :class:`IntCNNMC`, from :func:`pyvtm.models.intnet.to_integer`) and save
    it with its model card: same kind, format and interface as the float
    model, plus ``arithmetic: integer``, the quantisation and the per-layer
    partial-sum bounds, which are checked here to be below 2^53."""
    from ..models import intnet

    model = model.cpu().eval()
    if isinstance(model, intnet.IntCNNIF):
        kind = "cnnif"
    elif isinstance(model, intnet.IntCNNMC):
        kind = "cnnmc"
    else:
        raise TypeError(f"not an integer model: {type(model).__name__}")
    if not model.integer:
        raise ValueError("export the integer model (pyvtm.models.intnet.to_integer), not the fake-quantised one")
    bounds = intnet.quant_report(model)
    if bounds["max_bits"] >= 53:
        raise ValueError(f"partial sums reach 2^{bounds['max_bits']}: not exact in float64")
    m = model.meta
    quant = {
        "weights": f"integers, scale per output channel; first layer int{m['first_weight_bits']}, "
                   f"others int{m['weight_bits']}",
        "activations": f"int{m['act_bits']} (ReLU outputs 0..{(1 << (m['act_bits'] - 1)) - 1})",
        "bias": "integer at the accumulator scale",
        "requantisation": f"int64: clamp((acc * M + 2^(S-1)) >> S), M < 2^{intnet.MULT_BITS}, S per output channel",
        "convolution": "float64 on integer-valued tensors: every product and partial sum is an integer "
                       "below 2^53, so the result is exact whatever the kernel, ISA, blocking or thread count",
        "storage": "int32 buffers, every value below 2^24 in magnitude (biases split in two parts)",
    }
    meta = {"preset": m["preset"], "version": f"{version}-int", "arithmetic": "integer", "reproducible": True,
            "quantisation": quant, "acc_bounds": bounds, "qp_range": list(qp_range), "training": training or {},
            "weight_bits": m["weight_bits"], "first_weight_bits": m["first_weight_bits"],
            "act_bits": m["act_bits"], "compute_dtype": "float64 (exact integers) + int64",
            "storage_dtype": "int32"}
    if kind == "cnnif":
        meta.update({k: m[k] for k in ("layout", "qp_input", "num_units", "channels", "convs_per_unit", "tile",
                                       "margin", "receptive_radius")})
        meta["colour_format"] = COLOUR
        meta["normalisation"] = ("integer inputs 2Y-1023, Cb-512, Cr-512 (nearest-upsampled), QP; the R'G'B' "
                                 "conversion and /1023, /63 are folded into the first layer, *1023 and R'G'B' -> "
                                 "Y'CbCr into the last; chroma corrections summed over 2x2 and rounded")
        meta["interface"] = ("forward(y (1,1,H,W), cb (1,1,H/2,W/2), cr, qp (1,)) float32 10-bit sample units -> "
                             "(y, cb, cr) float32 holding integers already rounded (floor(v+0.5) in integer "
                             "arithmetic) and clipped to 0..1023; the codec's rounding leaves them unchanged")
        nparam = sum(int(mod.weight.numel()) + int(mod.bias_hi.numel()) for mod in model.modules()
                     if isinstance(mod, intnet.IntConv))
        meta["parameters"] = nparam
    else:
        meta.update({"widths": m["widths"], "embed": m["embed"], "logit_unit": m["logit_unit"],
                     "exp_table": m["exp_table"], "quant_scale": QUANT_SCALE})
        meta["colour_format"] = "luma only, 10-bit, before in-loop filtering"
        meta["normalisation"] = ("integer inputs: (recon - 512) * available packed 4x4, integer mode embedding "
                                 "(index 67 = unavailable), unit availability 0/1, coordinates 2k - 63; the "
                                 "float network's /1023 and /126 are folded into the first layer")
        meta["interface"] = ("forward(recon (1,3,128,128) float32, modes (1,3,32,32) int64 (255 = unavailable), "
                             "available (1,3) float32) -> int32 (1,67,32,32): integer softmax of integer logits "
                             f"(e = T[max z - z], q = (e*{QUANT_SCALE} + E/2) // E)")
        meta["mpm_rule"] = ("score = sum of the integer probabilities over the CU's 4x4 units; entry 0 planar; "
                            "entries 1..5 = top-5 non-planar by score, ties to the lower mode index")
    scripted = torch.jit.script(model)
    return _save(scripted, path, kind, meta)


def export_msgdn(model, path, *, name: Optional[str] = None, version: str = "1", fp16: bool = False,
                 qp_range: Tuple[int, int] = (34, 45), training: Optional[dict] = None) -> Path:
    """Script an :class:`~pyvtm.models.msgdn.MSGDNFilter` (the post-filter) and
    save it with metadata (kind ``postfilter``; ``name`` e.g. ``msgdn_s`` or
    ``msgdn_s_gan``, the prefix of the model id)."""
    from ..models.msgdn import msgdn_cost

    model = model.cpu().float().eval()
    scripted = torch.jit.script(model)
    if fp16:
        scripted = scripted.half()
    cost = msgdn_cost(model.config())
    meta = {
        "preset": model.preset, "name": name or model.preset, "network": "msgdn", "version": version,
        **{k: v for k, v in model.config().items() if k != "preset"},
        "qp_range": list(qp_range),
        "colour_format": "RGB 8-bit (pyvtm.ycbcr_to_rgb of the decoded 4:2:0 picture: BT.601 full range, "
                         "bilinear chroma up-sampling)",
        "normalisation": "rgb/255 - 0.5; qp plane qp/63 (slice QP); correction * 255 added to the input",
        "interface": "forward(rgb (B,3,H,W) float32 0..255, qp (B,) float32) -> (B,3,H,W) float32, unrounded; "
                     "callers round floor(v+0.5) and clip 0..255 (pyvtm.postfilter); any H, W (padded inside)",
        "parameters": int(cost["parameters"]), "kmac_per_pixel": float(cost["kmac_per_pixel"]),
        "storage_dtype": "float16" if fp16 else "float32", "compute_dtype": "float32",
        "training": training or {},
    }
    return _save(scripted, path, "postfilter", meta)


def export_checkpoint(ckpt, out, *, fp16: bool = False, version: str = "1", extra_training: Optional[dict] = None) -> Path:
    """Export a checkpoint written by :mod:`pyvtm.utils.train` (path or dict)."""
    from .train import cnnif_from_checkpoint, cnnmc_from_checkpoint, load_checkpoint

    if not isinstance(ckpt, dict):
        ckpt = load_checkpoint(ckpt)
    hist = [h for h in ckpt.get("history", []) if h.get("final")]
    training = {"steps": ckpt.get("step"), "seconds": round(float(ckpt.get("train_seconds", 0.0)), 1),
                "device": ckpt.get("device"), "torch": ckpt.get("torch"),
                "data": [Path(p).name for p in ckpt.get("train_config", {}).get("data", [])],
                "validation": hist[-1] if hist else None}
    if ckpt.get("kind") == "cnnmc":
        training["mode_source"] = ckpt.get("mode_source")
    training.update(extra_training or {})
    if ckpt.get("kind") in ("msgdn", "msgdn_gan"):
        from .train import msgdn_from_checkpoint

        m = msgdn_from_checkpoint(ckpt)
        tc = ckpt.get("train_config", {})
        training.update({"loss": ("L1 + 0.01 RaGAN (symmetric) + 1e-4 VGG-19 conv5_4" if tc.get("w_perc")
                                  else "L1 + 0.01 RaGAN (symmetric), no perceptual term")
                         if ckpt["kind"] == "msgdn_gan" else f"L1 then MSE (L1 share {tc.get('l1_fraction')})",
                         "init": tc.get("init")})
        name = m.preset + ("_gan" if ckpt["kind"] == "msgdn_gan" else "")
        return export_msgdn(m, out, name=name, fp16=fp16, version=version, training=training)
    if ckpt.get("kind") == "cnnif":
        return export_cnnif(cnnif_from_checkpoint(ckpt), out, fp16=fp16, version=version, training=training)
    if ckpt.get("kind") == "cnnmc":
        return export_cnnmc(cnnmc_from_checkpoint(ckpt), out, fp16=fp16, version=version, training=training)
    raise ValueError(f"not a pyvtm training checkpoint (kind {ckpt.get('kind')!r})")


def _load(path) -> Tuple[torch.jit.ScriptModule, dict]:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"CNN model file not found: {str(p)!r}")
    extra = {"pyvtm.kind": "", "pyvtm.format": "", "pyvtm.model_id": "", "pyvtm.json": ""}
    try:
        m = torch.jit.load(str(p), map_location="cpu", _extra_files=extra)
    except Exception as e:  # RuntimeError / ValueError from the archive reader
        raise ModelFileError(f"CNN model file {str(p)!r} is not a readable TorchScript archive "
                             f"(corrupt or not a model file): {str(e).splitlines()[0] if str(e) else e!r}") from e
    kind = extra["pyvtm.kind"].decode() if isinstance(extra["pyvtm.kind"], bytes) else extra["pyvtm.kind"]
    if not kind:
        raise ModelFileError(f"CNN model file {str(p)!r} has no pyvtm metadata (pyvtm.kind); "
                             "write it with `pyvtm export`")
    js = extra["pyvtm.json"]
    js = js.decode() if isinstance(js, bytes) else js
    meta = json.loads(js) if js else {}
    meta.setdefault("kind", kind)
    fmt = extra["pyvtm.format"]
    meta["format"] = fmt.decode() if isinstance(fmt, bytes) else fmt
    mid = extra["pyvtm.model_id"]
    meta["model_id"] = mid.decode() if isinstance(mid, bytes) else mid
    return m, meta


def read_metadata(path) -> dict:
    """The metadata of a model file (raises :class:`ModelFileError`)."""
    return _load(path)[1]


def load_model(path, kind: Optional[str] = None) -> Tuple[torch.jit.ScriptModule, dict]:
    """Load a model file for inference in Python: float32, eval mode.
    Checks the kind (when given) and the format like the C++ hooks do."""
    m, meta = _load(path)
    if kind is not None and meta["kind"] != kind:
        raise ModelFileError(f"CNN model file {str(path)!r} holds a {meta['kind']!r} model, expected a {kind!r} model")
    if meta["format"] != FORMAT:
        raise ModelFileError(f"CNN model file {str(path)!r} has interface format {meta['format']!r}; "
                             f"this pyvtm supports format {FORMAT}")
    m = m.float().eval()
    return m, meta


def add_export_arguments(p) -> None:
    p.add_argument("checkpoint", help="training checkpoint (e.g. OUT/last.pt from `pyvtm train`)")
    p.add_argument("-o", "--output", required=True, help="model file to write (TorchScript, .pt)")
    p.add_argument("--fp16", action="store_true", help="store the weights as float16 (half the size)")
    p.add_argument("--version", default="1", help="model version written into the metadata")


def run_export_command(a) -> int:
    path = export_checkpoint(a.checkpoint, a.output, fp16=a.fp16, version=a.version)
    meta = read_metadata(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {meta['kind']} {meta['model_id']}")
    return 0
