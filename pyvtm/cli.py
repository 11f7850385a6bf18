"""Command-line interface: ``pyvtm <command> ...`` (also ``python -m pyvtm``).

The batch commands (allocate, eval, dataset) run their encodes on
``--engine local`` (processes, default) or ``--engine ray`` (a Ray cluster),
see :mod:`pyvtm.utils.engine`; ``train`` runs under ``torchrun`` for DDP.

Commands:
  encode   encode an image (or the shipped sample) to a VVC bitstream
  decode   decode a VVC bitstream (.266) to an image (.png, ...) or raw .yuv
  info     print pyvtm, torch and libtorch versions
  allocate choose a QP per image of a folder to meet a total bpp budget
  eval     RD points, BD-rates and RD plot of pyvtm against other codecs
  dataset  build a CNN training / evaluation data set with pyvtm's encoder
  train    train a CNN tool (cnnif | cnnmc) or the post-filter (msgdn | msgdn_gan)
  export   export a training checkpoint as a TorchScript model file (pyvtm/weights/ format)
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Optional, Sequence

# Residual coding tools with --TOOL / --no-TOOL switches (EncoderConfig fields).
_RESIDUAL_TOOLS = {
    "dep_quant": "dependent quantisation",
    "sign_hiding": "sign data hiding (where dependent quantisation is off)",
    "mts": "multiple transform selection (DST-VII/DCT-VIII)",
    "lfnst": "low-frequency non-separable transform",
    "transform_skip": "transform skip",
    "bdpcm": "block DPCM (with transform skip)",
    "joint_cbcr": "joint Cb-Cr residual coding",
    "lmcs": "luma mapping with chroma scaling (LMCS)",
}
# Intra prediction tools with --TOOL / --no-TOOL switches (EncoderConfig fields).
_INTRA_TOOLS = {
    "mip": "matrix-based intra prediction (luma)",
    "mrl": "multiple reference line intra prediction (MRL)",
    "isp": "intra sub-partitions (ISP)",
}


def _fmt_db(v: Optional[float]) -> str:
    if v is None:
        return "n/a"
    if math.isinf(v):
        return "inf dB"
    return f"{v:.2f} dB"


def _cmd_encode(args: argparse.Namespace) -> int:
    from . import encode
    from .data import sample_path

    src = Path(args.input) if args.input is not None else sample_path()
    out = Path(args.output) if args.output is not None else Path(src.stem + ".266")
    opts = {}
    if args.max_cu_log2 is not None:
        opts["max_cu_log2"] = args.max_cu_log2
    if args.min_cu_log2 is not None:
        opts["min_cu_log2"] = args.min_cu_log2
    if args.intra_rd_candidates is not None:
        opts["intra_rd_candidates"] = args.intra_rd_candidates
    if args.no_rdo_split:
        opts["rdo_split"] = False
    if args.no_rdoq:
        opts["rdoq"] = False
    if args.no_deblocking:
        opts["deblocking"] = False
    if args.no_deblocking_offsets:
        opts["deblocking_offsets"] = False
    if args.deblock_aware is not None:
        opts["deblock_aware"] = args.deblock_aware
    if args.no_sao:
        opts["sao"] = False
    if args.no_alf:
        opts["alf"] = False
    if args.no_ccalf:
        opts["ccalf"] = False
    if args.chroma_qp_offset is not None:
        opts["chroma_qp_offset"] = args.chroma_qp_offset
    if args.preset is not None:
        opts["preset"] = args.preset
    for tool in ("mtt", "dual_tree", "cclm"):
        if getattr(args, "no_" + tool):
            opts[tool] = False
    for tool in (*_INTRA_TOOLS, *_RESIDUAL_TOOLS):
        if getattr(args, tool) is not None:
            opts[tool] = getattr(args, tool)
    if args.chroma_qp_table is not None:
        opts["chroma_qp_table"] = args.chroma_qp_table
    models = {}
    for spec in args.model or []:
        kind, sep, name = spec.partition("=")
        if not sep:
            raise SystemExit(f"pyvtm encode: --model wants TOOL=NAME_OR_PATH, got {spec!r}")
        models[kind] = name
    res = encode(str(src), qp=args.qp, cnnif=args.cnnif, cnnmc=args.cnnmc, models=models or None,
                 postfilter=args.postfilter, **opts)
    res.save(out)
    if args.recon is not None:
        from PIL import Image

        Image.fromarray(res.recon_rgb).save(args.recon)
    print(f"{src.name}: {res.width}x{res.height} qp {res.qp}  {res.bits} bits  "
          f"{res.bpp:.4f} bpp  PSNR-Y {_fmt_db(res.psnr_y)}  PSNR-RGB {_fmt_db(res.psnr_rgb)}  "
          f"encode {res.seconds:.2f} s  -> {out}")
    if res.postfilter is not None:
        print(f"post-filter {res.postfilter['model_id']} (signalled in NNPFC/NNPFA SEI): PSNR-RGB "
              f"{_fmt_db(res.psnr_rgb_unfiltered)} -> {_fmt_db(res.psnr_rgb)}  {res.postfilter['seconds']:.2f} s")
    return 0


def _cmd_decode(args: argparse.Namespace) -> int:
    from . import decode_picture

    src = Path(args.input)
    out = Path(args.output) if args.output is not None else Path(src.stem + ".png")
    pf = False if args.no_postfilter else (args.postfilter if args.postfilter is not None else True)
    pic = decode_picture(src, postfilter=False if out.suffix.lower() == ".yuv" else pf)
    if out.suffix.lower() == ".yuv":
        # Raw yuv420p10le: Y, Cb, Cr planes of little-endian 16-bit samples.
        import numpy as np

        with open(out, "wb") as f:
            for plane in pic.ycbcr:
                f.write(np.ascontiguousarray(plane, dtype="<u2").tobytes())
        kind = "yuv420p10le"
    else:
        from PIL import Image

        try:
            Image.fromarray(pic.rgb).save(out)
        except (ValueError, OSError) as e:  # unknown extension, unwritable path
            raise ValueError(f"cannot write {str(out)!r}: {e}") from e
        kind = "RGB"
    extra = ""
    if pic.postfilter is not None:
        extra = f"  post-filter {pic.postfilter['model_id']} {pic.postfilter['seconds']:.2f} s"
    elif any(s["active"] for s in pic.postfilter_sei) and kind == "RGB":
        extra = "  (post-filter in the stream not applied: --no-postfilter)"
    print(f"{src.name}: {pic.width}x{pic.height} qp {pic.qp}  decode {pic.seconds:.3f} s{extra}  -> {out} ({kind})")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import torch

    from . import __version__, _core

    print(f"pyvtm {__version__}")
    print(f"torch {torch.__version__}")
    print(f"libtorch (built against) {_core.torch_runtime_version()}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .utils.train import run_train_command

    return run_train_command(args)


def _cmd_export(args: argparse.Namespace) -> int:
    from .utils.export import run_export_command

    return run_export_command(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pyvtm", description="VVC/H.266 intra image codec.")
    sub = p.add_subparsers(dest="command", metavar="<command>")
    sub.required = True

    e = sub.add_parser("encode", help="encode an image to a VVC bitstream (.266)")
    e.add_argument("input", nargs="?", help="input image (default: the shipped sample picture)")
    e.add_argument("-o", "--output", help="output bitstream (default: <input name>.266 in the current directory)")
    e.add_argument("--qp", type=int, default=32, help="slice QP, 0..63 (default 32)")
    e.add_argument("--recon", help="also write the reconstruction as an image (e.g. recon.png)")
    e.add_argument("--max-cu-log2", type=int, help="log2 CTU size (default 7)")
    e.add_argument("--min-cu-log2", type=int, help="log2 smallest CU size (default 2)")
    e.add_argument("--intra-rd-candidates", type=int, help="intra modes kept for full RD")
    e.add_argument("--preset", choices=["fast", "medium", "slow"], default=None,
                   help="search effort (default medium)")
    e.add_argument("--no-mtt", action="store_true", help="quadtree only (no binary/ternary splits)")
    e.add_argument("--no-dual-tree", action="store_true", help="one coding tree for luma and chroma")
    e.add_argument("--no-cclm", action="store_true", help="no cross-component linear model chroma prediction")
    for tool, what in (*_INTRA_TOOLS.items(), *_RESIDUAL_TOOLS.items()):
        e.add_argument("--" + tool.replace("_", "-"), action=argparse.BooleanOptionalAction, default=None,
                       help=what + " (default: the encoder's)")
    e.add_argument("--chroma-qp-table", nargs="?", const="vtm", choices=["identity", "vtm", "vvenc"],
                   help="SPS chroma QP mapping table: identity, vtm (VTM's all-intra table; the value when "
                        "none is given) or vvenc (VVenC's); default: vvenc at medium, identity at fast and slow")
    e.add_argument("--no-chroma-qp-table", dest="chroma_qp_table", action="store_const", const="identity",
                   help="the identity chroma QP mapping (as --chroma-qp-table identity)")
    e.add_argument("--no-rdo-split", action="store_true", help="fixed 32x32 split instead of RD split decisions")
    e.add_argument("--no-rdoq", action="store_true", help="plain quantisation instead of RDOQ")
    e.add_argument("--no-deblocking", action="store_true", help="disable the deblocking filter")
    e.add_argument("--no-deblocking-offsets", action="store_true",
                   help="deblocking beta/tc offsets 0 instead of the per-picture choice by squared error")
    e.add_argument("--deblock-aware", action=argparse.BooleanOptionalAction, default=None,
                   help="deblocking-aware split decisions: each CU's cost includes what deblocking its edges "
                        "changes (default: on at medium and slow, off at fast)")
    e.add_argument("--no-sao", action="store_true", help="disable sample adaptive offset (SAO)")
    e.add_argument("--no-alf", action="store_true", help="disable the adaptive loop filter (ALF, with CCALF)")
    e.add_argument("--no-ccalf", action="store_true", help="disable cross-component ALF (CCALF)")
    e.add_argument("--chroma-qp-offset", type=int, help="pps_cb/cr_qp_offset, -12..12 (default 0)")
    e.add_argument("--cnnif", action="store_true", help="CNN in-loop filter (default model cnnif_s_int, the integer cnnif_s)")
    e.add_argument("--cnnmc", action="store_true", help="CNN MPM predictor (experimental; needs pyvtm's decoder)")
    e.add_argument("--postfilter", metavar="NAME",
                   help="post-filter of the decoded picture, signalled in the stream (H.274 NNPFC/NNPFA SEI): "
                        "msgdn, msgdn_gan, a registry name (msgdn_s, ...) or a model file")
    e.add_argument("--model", action="append", metavar="TOOL=NAME",
                   help="model for a CNN tool, e.g. cnnif=cnnif or cnnif=path/model.pt (repeatable)")
    e.set_defaults(func=_cmd_encode)

    i = sub.add_parser("info", help="print pyvtm, torch and libtorch versions")
    i.set_defaults(func=_cmd_info)
    d = sub.add_parser("decode", help="decode a VVC bitstream (.266) to an image or raw .yuv")
    d.add_argument("input", help="input bitstream (.266, Annex B)")
    d.add_argument("-o", "--output", help="output: an image (.png, ...: RGB) or .yuv (raw yuv420p10le); "
                   "default <input name>.png in the current directory")
    d.add_argument("--no-postfilter", action="store_true",
                   help="do not apply the post-filter the stream activates (the standard decoder's picture)")
    d.add_argument("--postfilter", metavar="NAME",
                   help="apply this post-filter instead of the stream's (msgdn, msgdn_gan, name or model file)")
    d.set_defaults(func=_cmd_decode)
    # issue 4: train, export (CNN tools; pyvtm/utils/train.py, export.py)
    t = sub.add_parser("train", help="train a CNN tool (cnnif | cnnmc) or the post-filter (msgdn | msgdn_gan) "
                                     "on data sets from pyvtm.utils.dataset")
    t.set_defaults(func=_cmd_train)
    x = sub.add_parser("export", help="export a training checkpoint as a TorchScript model file")
    x.set_defaults(func=_cmd_export)
    from .utils import export as _export, train as _train
    _train.add_train_arguments(t)
    _export.add_export_arguments(x)
    from .utils import allocate as _allocate, evaluate as _evaluate  # issue 5: allocate, eval
    _allocate.add_parser(sub)
    _evaluate.add_parser(sub)
    from .utils import dataset as _dataset  # issue 14: batch commands share --engine/--jobs/--resume/-o
    _dataset.add_parser(sub)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, NotImplementedError) as e:
        print(f"pyvtm {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
