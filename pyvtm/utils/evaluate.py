"""Rate-distortion evaluation of pyvtm against other codecs (``pyvtm eval``).

Every codec gets the same input picture:

* VVC/HEVC (``pyvtm``, ``vvenc``, ``x265``): the 10-bit YCbCr 4:2:0 planes
  pyvtm encodes (:func:`pyvtm.colour.rgb_to_ycbcr`), as ``yuv420p10le``
  rawvideo for the ffmpeg-based encoders. VVenC is ``libvvenc`` in the
  ffmpeg of imageio-ffmpeg (``-preset medium -qpa 0``, one thread); x265 is
  ``libx265`` all-intra (``-preset medium -tune psnr``, ``keyint=1``, constant
  QP, no info SEI, one thread; note that x265 codes I pictures about 3 QP
  below ``qp`` (ipratio)). Decoding: ffmpeg (``-threads 1``), pyvtm's
  bitstreams included (checked against pyvtm's reconstruction).
* Image codecs (``jpeg``, ``jpeg2000``, ``webp``, ``avif``): the 8-bit RGB
  image, through Pillow (JPEG: 4:2:0, optimised Huffman tables, quality
  sweep; JPEG 2000: OpenJPEG, 9/7 irreversible wavelet with the RGB->YCbCr
  component transform, raw codestream,
  target rates; WebP: lossy, method 6; AVIF: Pillow's AVIF plugin (Pillow >=
  11.2, or ``pillow-avif-plugin``), speed 6, else ffmpeg ``libaom-av1``
  still picture). Codecs that are not available are skipped with a note.

Metrics on the decoded pictures: PSNR-Y on the 10-bit luma (peak 1023; for
RGB codecs, the luma of their decoded RGB by the same conversion),
PSNR-RGB (8-bit, peak 255), the 6:1:1 YCbCr PSNR, MS-SSIM on RGB (mean of
the channels) and on Y (NaN for pictures under 161 pixels a side); bpp from
the whole file sizes. BD-rates (PCHIP, :mod:`pyvtm.metrics`) are computed
per image against the anchor and averaged over the images.
"""
from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .engine import TaskFailed, add_engine_arguments, as_engine, engine_from_args, open_input
from .runner import file_key, list_images, options_key, options_label, parse_options, write_json_atomic

__all__ = ["evaluate", "CODECS", "DEFAULT_GRIDS", "codec_available", "bd_table", "quality_at_bpp"]

CODECS = ("pyvtm", "vvenc", "x265", "jpeg2000", "jpeg", "webp", "avif")
#: Default parameter grids: QPs for pyvtm/vvenc/x265, Pillow qualities for
#: jpeg/webp/avif, target bits per pixel for jpeg2000. Chosen so that the
#: curves overlap on Kodak-like pictures (about 0.05..2 bpp).
DEFAULT_GRIDS: dict[str, list] = {
    "pyvtm": [27, 32, 37, 42, 47, 51],
    "vvenc": [27, 32, 37, 42, 47, 51],
    "x265": [27, 32, 37, 42, 47, 51],
    "jpeg2000": [0.05, 0.1, 0.15, 0.25, 0.4, 0.7, 1.2, 2.0],
    "jpeg": [1, 3, 5, 10, 20, 35, 55, 75, 90],
    "webp": [0, 2, 5, 15, 30, 50, 70, 85, 95],
    "avif": [0, 10, 25, 40, 55, 70, 82, 92],
}
#: Fixed settings of each codec (stored with every point; a cached point made
#: with other settings is not reused).
SETTINGS = {
    "pyvtm": "pyvtm.encode defaults + options; decoded by ffmpeg vvc -threads 1",
    "vvenc": "ffmpeg libvvenc -preset medium -qpa 0 -threads 1 -vvenc-params threads=1",
    "x265": "ffmpeg libx265 -preset medium -tune psnr keyint=1 qp=QP info=0 hash=0 pools=none frame-threads=1",
    "jpeg2000": "Pillow OpenJPEG irreversible=True mct=1 quality_mode=rates ratio=24/bpp, .j2k codestream",
    "jpeg": "Pillow libjpeg quality=Q optimize=True subsampling=4:2:0",
    "webp": "Pillow libwebp quality=Q method=6 lossy",
    "avif": "Pillow AVIF quality=Q speed=6 subsampling=4:2:0 (or ffmpeg libaom-av1 still picture)",
}
_PARAM_NAME = {"pyvtm": "qp", "vvenc": "qp", "x265": "qp", "jpeg2000": "bpp", "jpeg": "quality",
               "webp": "quality", "avif": "quality"}
_COST = {"vvenc": 0, "pyvtm": 1, "avif": 2, "x265": 3, "jpeg2000": 4, "webp": 5, "jpeg": 6}
_YUV_CODECS = ("pyvtm", "vvenc", "x265")


# ---------------------------------------------------------------------------
# Codec availability


def _ffmpeg_encoders() -> str:
    from ..ffmpeg import ffmpeg_exe

    try:
        p = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.stdout.decode("utf-8", "replace")
    except Exception:
        return ""


def _pil_avif() -> Optional[str]:
    try:
        from PIL import features

        if features.check("avif"):
            return "pillow"
    except Exception:
        pass
    try:
        import pillow_avif  # noqa: F401

        return "pillow-avif-plugin"
    except ImportError:
        return None


_ENCODERS: list[str] = []


def codec_available(codec: str) -> tuple[bool, str]:
    """(available, how it is run or why not)."""
    encs = ""
    if codec in ("vvenc", "x265", "avif"):
        if not _ENCODERS:
            _ENCODERS.append(_ffmpeg_encoders())
        encs = _ENCODERS[0]
    if codec == "pyvtm":
        return True, "pyvtm.encode"
    if codec == "vvenc":
        return (" libvvenc " in encs, "ffmpeg libvvenc" if " libvvenc " in encs
                else "the ffmpeg of imageio-ffmpeg has no libvvenc encoder")
    if codec == "x265":
        return (" libx265 " in encs, "ffmpeg libx265" if " libx265 " in encs
                else "the ffmpeg of imageio-ffmpeg has no libx265 encoder")
    from PIL import features

    if codec == "jpeg":
        return features.check("jpg"), "Pillow (libjpeg)"
    if codec == "jpeg2000":
        ok = features.check("jpg_2000")
        return ok, "Pillow (OpenJPEG)" if ok else "Pillow was built without OpenJPEG"
    if codec == "webp":
        ok = features.check("webp")
        return ok, "Pillow (libwebp)" if ok else "Pillow was built without WebP"
    if codec == "avif":
        how = _pil_avif()
        if how:
            return True, how
        if " libaom-av1 " in encs:
            return True, "ffmpeg libaom-av1 (still picture)"
        return False, "no AVIF encoder (Pillow >= 11.2 with AVIF, pillow-avif-plugin, or ffmpeg libaom-av1)"
    raise ValueError(f"unknown codec {codec!r}; known: {', '.join(CODECS)}")


# ---------------------------------------------------------------------------
# Codecs: each returns (file bytes, decoded RGB or None, decoded planes or None, encode seconds)


def _ff(args: list[str], what: str) -> None:
    from ..ffmpeg import ffmpeg_exe

    p = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError(f"ffmpeg {what} failed (exit {p.returncode}):\n"
                           f"{p.stderr.decode('utf-8', 'replace').strip()}")


def _pad_even(planes):
    y, cb, cr = planes
    h, w = y.shape
    if h & 1 or w & 1:
        y = np.pad(y, ((0, h & 1), (0, w & 1)), mode="edge")
    return y, cb, cr


def _write_yuv(path: Path, planes) -> None:
    with open(path, "wb") as f:
        for p in planes:
            f.write(np.ascontiguousarray(p, dtype="<u2").tobytes())


def _read_yuv(path: Path, w: int, h: int):
    buf = np.fromfile(path, dtype="<u2")
    cw, ch = w // 2, h // 2
    if buf.size != w * h + 2 * cw * ch:
        raise RuntimeError(f"decoded {buf.size} samples, expected {w * h + 2 * cw * ch} for {w}x{h} 4:2:0")
    y = buf[:w * h].reshape(h, w)
    cb = buf[w * h:w * h + cw * ch].reshape(ch, cw)
    cr = buf[w * h + cw * ch:].reshape(ch, cw)
    return y.astype(np.uint16), cb.astype(np.uint16), cr.astype(np.uint16)


def _run_ffmpeg_yuv_codec(planes, tmp: Path, enc_args: list[str], ext: str, fmt: str, what: str):
    y, cb, cr = _pad_even(planes)
    h, w = y.shape
    raw = tmp / "in.yuv"
    _write_yuv(raw, (y, cb, cr))
    out = tmp / f"out.{ext}"
    t0 = time.perf_counter()
    _ff(["-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{w}x{h}", "-i", str(raw), "-frames:v", "1",
         *enc_args, "-f", fmt, str(out)], f"{what} encode")
    sec = time.perf_counter() - t0
    data = out.read_bytes()
    dec = tmp / "dec.yuv"
    _ff(["-threads", "1", "-f", fmt, "-i", str(out), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "yuv420p10le", str(dec)], f"{what} decode")
    return data, None, _read_yuv(dec, w, h), sec


def _codec_vvenc(rgb, planes, qp, tmp, opts):
    args = ["-c:v", "libvvenc", "-preset", str(opts.get("preset", "medium")), "-qp", str(int(qp)),
            "-qpa", "0", "-threads", "1", "-vvenc-params", "threads=1"]
    return _run_ffmpeg_yuv_codec(planes, tmp, args, "266", "vvc", "libvvenc")


def _codec_x265(rgb, planes, qp, tmp, opts):
    params = (f"keyint=1:min-keyint=1:qp={int(qp)}:info=0:hash=0:aud=0:log-level=error:"
              "pools=none:frame-threads=1")
    args = ["-c:v", "libx265", "-preset", str(opts.get("preset", "medium")), "-tune", "psnr",
            "-pix_fmt", "yuv420p10le", "-x265-params", params]
    return _run_ffmpeg_yuv_codec(planes, tmp, args, "hevc", "hevc", "libx265")


def _codec_pyvtm(rgb, planes, qp, tmp, opts):
    import pyvtm

    from ..ffmpeg import decode_vvc

    res = pyvtm.encode(rgb, int(qp), **opts)
    ry = res.recon_ycbcr
    dec = decode_vvc(res.bitstream, ry[0].shape[1], ry[0].shape[0])
    if not all(np.array_equal(a, b) for a, b in zip(dec, ry)):
        raise RuntimeError(f"pyvtm bitstream (qp {qp}) decodes differently from its reconstruction")
    if res.postfilter is not None:
        # FFmpeg ignores the post-filter SEI; the post-filter named in it is applied to FFmpeg's picture
        from ..colour import ycbcr_to_rgb

        h, w = rgb.shape[:2]
        filt = pyvtm.postfilter(ycbcr_to_rgb(*dec), model=res.postfilter["path"], qp=int(qp))[:h, :w]
        return res.bitstream, np.ascontiguousarray(filt), None, res.seconds + res.postfilter["seconds"]
    return res.bitstream, None, dec, res.seconds


def _pil_roundtrip(rgb, save_kwargs: dict, fmt: str):
    from PIL import Image

    img = Image.fromarray(rgb)
    buf = io.BytesIO()
    t0 = time.perf_counter()
    img.save(buf, fmt, **save_kwargs)
    sec = time.perf_counter() - t0
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as d:
        d.load()
        dec = np.asarray(d.convert("RGB"), dtype=np.uint8).copy()
    return data, dec, None, sec


def _codec_jpeg(rgb, planes, q, tmp, opts):
    return _pil_roundtrip(rgb, {"quality": int(q), "optimize": True, "subsampling": 2}, "JPEG")


def _codec_webp(rgb, planes, q, tmp, opts):
    return _pil_roundtrip(rgb, {"quality": int(q), "method": 6, "lossless": False}, "WEBP")


def _codec_jpeg2000(rgb, planes, bpp, tmp, opts):
    ratio = 24.0 / float(bpp)  # compression ratio against 24-bit RGB
    # mct=1: RGB -> YCbCr (ICT) before the wavelet (Pillow's default is none)
    return _pil_roundtrip(rgb, {"quality_mode": "rates", "quality_layers": [ratio], "irreversible": True,
                                "mct": 1, "no_jp2": True}, "JPEG2000")


def _codec_avif(rgb, planes, q, tmp, opts):
    how = _pil_avif()
    if how == "pillow-avif-plugin":
        import pillow_avif  # noqa: F401
    if how:
        return _pil_roundtrip(rgb, {"quality": int(q), "speed": int(opts.get("speed", 6)),
                                    "subsampling": "4:2:0"}, "AVIF")
    # ffmpeg libaom-av1 still picture; q (0..100, higher is better) -> crf 63..0
    from PIL import Image

    src = tmp / "in.png"
    Image.fromarray(rgb).save(src)
    out = tmp / "out.avif"
    crf = int(round(63 - 0.63 * float(q)))
    t0 = time.perf_counter()
    _ff(["-i", str(src), "-frames:v", "1", "-c:v", "libaom-av1", "-still-picture", "1", "-crf", str(crf),
         "-b:v", "0", "-cpu-used", "6", "-threads", "1", "-pix_fmt", "yuv420p", "-f", "avif", str(out)],
        "libaom-av1 encode")
    sec = time.perf_counter() - t0
    dec = tmp / "dec.png"
    _ff(["-threads", "1", "-i", str(out), "-frames:v", "1", "-pix_fmt", "rgb24", str(dec)], "avif decode")
    with Image.open(dec) as d:
        arr = np.asarray(d.convert("RGB"), dtype=np.uint8).copy()
    return out.read_bytes(), arr, None, sec


_CODEC_FN = {"pyvtm": _codec_pyvtm, "vvenc": _codec_vvenc, "x265": _codec_x265, "jpeg": _codec_jpeg,
             "webp": _codec_webp, "jpeg2000": _codec_jpeg2000, "avif": _codec_avif}


# ---------------------------------------------------------------------------
# One RD point


def _msssim_or_nan(a, b, peak):
    from ..metrics import ms_ssim

    try:
        return ms_ssim(a, b, peak)
    except ValueError:
        return float("nan")


def _eval_job(task: dict) -> dict:
    from PIL import Image

    from ..colour import rgb_to_ycbcr, ycbcr_to_rgb
    from ..metrics import psnr, psnr_ycbcr

    with Image.open(open_input(task["path"])) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    h, w = rgb.shape[:2]
    planes = rgb_to_ycbcr(rgb)
    codec = task["codec"]
    with tempfile.TemporaryDirectory(prefix="pyvtm-eval-") as td:
        data, dec_rgb, dec_planes, sec = _CODEC_FN[codec](rgb, planes, task["param"], Path(td), task["opts"])
    if dec_planes is not None:
        ch, cw = planes[1].shape
        dy, dcb, dcr = dec_planes
        dy, dcb, dcr = dy[:h, :w], dcb[:ch, :cw], dcr[:ch, :cw]
        dec_rgb = ycbcr_to_rgb(*dec_planes)[:h, :w]
        dplanes = (dy, dcb, dcr)
    else:
        if dec_rgb.shape != rgb.shape:
            raise RuntimeError(f"{codec} decoded a {dec_rgb.shape} picture, expected {rgb.shape}")
        dplanes = rgb_to_ycbcr(dec_rgb)
    ms_rgb = _msssim_or_nan(rgb, dec_rgb, 255.0)
    ms_y = _msssim_or_nan(planes[0], dplanes[0], 1023.0)
    rec = {
        "codec": task["label"], "base": codec, "image": task["name"], "param_name": _PARAM_NAME[codec],
        "param": task["param"], "width": w, "height": h, "bytes": len(data), "bpp": 8 * len(data) / (w * h),
        "psnr_y": psnr(planes[0], dplanes[0], 1023.0), "psnr_rgb": psnr(rgb, dec_rgb, 255.0),
        "psnr_ycbcr": psnr_ycbcr(planes, dplanes, 1023.0),
        "ms_ssim_rgb": ms_rgb, "ms_ssim_y": ms_y, "seconds": sec, "settings": SETTINGS[codec],
        "version": task["version"],
    }
    return rec  # the driver writes the cache entry (task["cache"])


# ---------------------------------------------------------------------------
# Aggregation


def _per_image(points, codec, metric):
    """image -> (bpp array, metric array) of one codec, sorted by bpp."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for p in points:
        if p["codec"] != codec:
            continue
        out.setdefault(p["image"], []).append((p["bpp"], p[metric]))
    res = {}
    for k, v in out.items():
        v = sorted(v)
        res[k] = (np.array([a for a, _ in v]), np.array([b for _, b in v]))
    return res


def _msssim_db(v):
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return -10.0 * np.log10(np.maximum(1.0 - v, 1e-12))


def bd_table(points: list[dict], anchor: str, codecs: list[str],
             metrics=("psnr_y", "psnr_rgb", "ms_ssim_rgb")) -> dict:
    """{codec: {metric: {"bd_rate": mean %, "bd_psnr"/"bd_quality": mean dB, "images": n}}}.

    Per image BD-rate / BD-quality (PCHIP) of the codec's curve against the
    anchor's, then the mean over the images where both are defined (the
    curves overlap). MS-SSIM is used as ``-10 log10(1 - MS-SSIM)`` dB.
    """
    from ..metrics import bd_psnr, bd_rate

    table: dict[str, dict] = {}
    for metric in metrics:
        a_curves = _per_image(points, anchor, metric)
        for c in codecs:
            curves = _per_image(points, c, metric)
            rates, dqs, skipped = [], [], []
            for img, (ra, qa) in a_curves.items():
                if img not in curves:
                    continue
                rb, qb = curves[img]
                if metric.startswith("ms_ssim"):
                    qa_, qb_ = _msssim_db(qa), _msssim_db(qb)
                else:
                    qa_, qb_ = qa, qb
                if not (np.all(np.isfinite(qa_)) and np.all(np.isfinite(qb_))):
                    skipped.append(img)
                    continue
                try:
                    rates.append(bd_rate(ra, qa_, rb, qb_))
                    dqs.append(bd_psnr(ra, qa_, rb, qb_))
                except ValueError:
                    skipped.append(img)
            table.setdefault(c, {})[metric] = {
                "bd_rate": float(np.mean(rates)) if rates else float("nan"),
                "bd_quality_db": float(np.mean(dqs)) if dqs else float("nan"),
                "images": len(rates), "skipped": skipped,
            }
    return table


def quality_at_bpp(points: list[dict], codec: str, metric: str, bpp: float) -> dict:
    """Mean over images of ``metric`` interpolated (PCHIP in log rate) at ``bpp``.

    Images whose measured points do not bracket ``bpp`` are left out
    (``images`` counts those that are in).
    """
    from ..metrics import pchip_interpolate

    vals = []
    n = 0
    for img, (r, q) in _per_image(points, codec, metric).items():
        n += 1
        if len(r) < 2 or not (r[0] <= bpp <= r[-1]) or np.any(np.diff(r) <= 0) or not np.all(np.isfinite(q)):
            continue
        vals.append(float(pchip_interpolate(np.log10(r), q, np.array([math.log10(bpp)]))[0]))
    return {"mean": float(np.mean(vals)) if vals else float("nan"), "images": len(vals), "of": n}


def _mean_curve(points, codec):
    """Mean over images at each grid parameter: (bpp, psnr_rgb, psnr_y, ms_ssim_rgb_db)."""
    by = {}
    for p in points:
        if p["codec"] == codec:
            by.setdefault(p["param"], []).append(p)
    rows = []
    for param, ps in by.items():
        rows.append((float(np.mean([p["bpp"] for p in ps])), float(np.mean([p["psnr_rgb"] for p in ps])),
                     float(np.mean([p["psnr_y"] for p in ps])),
                     float(np.mean(_msssim_db([p["ms_ssim_rgb"] for p in ps])))))
    rows.sort()
    return np.array(rows) if rows else np.zeros((0, 4))


def plot_rd(points: list[dict], codecs: list[str], path, title: str = "", max_bpp: float = 2.0) -> Path:
    """RD curves (mean over images per grid point): PSNR-RGB, PSNR-Y, MS-SSIM (dB) vs bpp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    allb = [p["bpp"] for p in points if p["codec"] in codecs]
    xmax = min(max_bpp, 1.05 * max(allb)) if allb else max_bpp
    panels = [(1, "PSNR-RGB [dB]"), (2, "PSNR-Y (10-bit) [dB]"), (3, "MS-SSIM RGB [-10 log10(1-x) dB]")]
    for ax, (col, label) in zip(axes, panels):
        for c in codecs:
            m = _mean_curve(points, c)
            if len(m) == 0:
                continue
            keep = m[:, 0] <= max_bpp * 1.05
            if not np.any(np.isfinite(m[keep, col])):
                continue
            ax.plot(m[keep, 0], m[keep, col], marker="o", ms=3, lw=1.4, label=c)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.set_xlim(0, xmax)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------
# Driver


def _parse_grid(spec: str) -> list:
    """``"22,27,32"``, ``"22-47:5"`` (lo-hi:step) or ``"0.1,0.2"``."""
    spec = spec.strip()
    if ":" in spec and "-" in spec.split(":")[0] and "," not in spec:
        rng, st = spec.split(":", 1)
        lo, hi = rng.split("-", 1)
        return list(range(int(lo), int(hi) + 1, int(st)))
    out = []
    for s in spec.split(","):
        s = s.strip()
        if not s:
            continue
        v = float(s)
        out.append(int(v) if v == int(v) and "." not in s else v)
    if not out:
        raise ValueError(f"empty parameter grid {spec!r}")
    return out


def evaluate(folder, codecs=None, *, qps=None, grids: Optional[dict] = None, anchor: str = "vvenc",
             pyvtm_opts: Optional[list[dict]] = None, jobs: Optional[int] = None, out=None,
             resume: bool = False, images: Optional[int] = None, at_bpp: float = 0.15, progress: bool = True,
             plot: bool = True, log=print, engine=None) -> dict:
    """Measure RD points of ``codecs`` on the images of ``folder`` and write the reports.

    Args:
        codecs: names from :data:`CODECS` (default: all; unavailable ones are
            skipped with a note).
        qps: QP grid of pyvtm/vvenc/x265 (default :data:`DEFAULT_GRIDS`).
        grids: ``{codec: [params]}`` overrides (qualities, bpp targets, QPs).
        anchor: codec the BD-rates are computed against.
        pyvtm_opts: extra pyvtm variants, each a dict of :func:`pyvtm.encode`
            options (labelled ``pyvtm[k=v,...]``).
        images: use only the first N images (sorted by name).
        out: output folder (default ``pyvtm-eval``): ``points.csv``,
            ``points.json``, ``bd_rate.csv``, ``summary.json``, ``summary.md``,
            ``rd_curves.png``; per-point cache in ``OUT/cache``.
        resume: reuse cached points.
        at_bpp: also report each codec's mean quality interpolated at this bpp.
        engine: ``"local"`` (default), ``"ray"`` or an
            :class:`pyvtm.utils.engine.Engine` (used as it is, not closed);
            ``jobs``: its parallel tasks (default: the engine's).

    A point whose encode fails (after the engine's retries) is reported in
    ``summary["failed"]`` and ``OUT/failures.json`` and left out; the other
    points are measured and reported as usual (``--resume`` later runs only
    the missing ones). Returns the summary dict (also written to
    ``summary.json``).
    """
    codecs = list(codecs) if codecs else list(CODECS)
    for c in codecs:
        if c not in CODECS:
            raise ValueError(f"unknown codec {c!r}; known: {', '.join(CODECS)}")
    out = Path(out) if out is not None else Path("pyvtm-eval")
    grids = {k: list(v) for k, v in (grids or {}).items()}
    for k in grids:
        if k not in CODECS:
            raise ValueError(f"grid given for unknown codec {k!r}")
    files = list_images(folder)
    if images is not None:
        files = files[:images]

    used, notes = [], []
    for c in codecs:
        ok, how = codec_available(c)
        if ok:
            used.append(c)
        else:
            notes.append(f"skipping {c}: {how}")
            log(f"note: skipping {c}: {how}")
    # (label, base codec, opts)
    variants: list[tuple[str, str, dict]] = []
    for c in used:
        variants.append((c, c, {}))
    for o in pyvtm_opts or []:
        variants.append((f"pyvtm[{options_label(o)}]", "pyvtm", dict(o)))
    labels = [v[0] for v in variants]
    if anchor not in labels:
        raise ValueError(f"anchor {anchor!r} is not among the evaluated codecs {labels}")

    import pyvtm

    tasks, cached = [], []
    for label, base, opts in variants:
        grid = grids.get(base) or (list(qps) if (qps and base in _YUV_CODECS) else DEFAULT_GRIDS[base])
        for f in files:
            key = file_key(f)
            for param in grid:
                okey = options_key(opts)
                cpath = out / "cache" / f"{base}-{okey}" / f"{f.stem}-{key}" / f"{_PARAM_NAME[base]}{param}.json"
                t = {"codec": base, "label": label, "opts": opts, "path": f, "name": f.name,
                     "param": param, "cache": str(cpath), "version": pyvtm.__version__}
                if resume and cpath.is_file():
                    try:
                        rec = json.loads(cpath.read_text())
                        if (rec.get("codec") == label and rec.get("param") == param
                                and rec.get("settings") == SETTINGS[base] and rec.get("version") == t["version"]):
                            cached.append(rec)
                            continue
                    except (OSError, ValueError):
                        pass
                tasks.append(t)
    tasks.sort(key=lambda t: _COST.get(t["codec"], 9))
    points = list(cached)
    failed = []
    eng, owned = as_engine(engine, jobs, progress)
    try:
        for t in tasks:
            t["path"] = eng.stage(t["path"])  # a path, or an object-store reference on Ray
        for k, rec in eng.map(_eval_job, tasks, desc=f"eval ({len(tasks)} points)"):
            t = tasks[k]
            if isinstance(rec, TaskFailed):
                failed.append({**rec.to_json(), "task": {"codec": t["label"], "image": t["name"],
                                                          "param": t["param"]}})
                log(f"warning: {t['label']} {t['name']} {_PARAM_NAME[t['codec']]} {t['param']}: {rec.kind}: "
                    f"{rec.message}")
                continue
            write_json_atomic(t["cache"], rec)
            points.append(rec)
    finally:
        if owned:
            eng.close()
    order = {l: i for i, l in enumerate(labels)}
    points.sort(key=lambda p: (order[p["codec"]], p["image"], p["bpp"]))

    out.mkdir(parents=True, exist_ok=True)
    failed.sort(key=lambda f: (order[f["task"]["codec"]], f["task"]["image"], str(f["task"]["param"])))
    if failed or (out / "failures.json").exists():
        write_json_atomic(out / "failures.json", failed)
    cols = ["codec", "image", "param_name", "param", "width", "height", "bytes", "bpp", "psnr_y", "psnr_rgb",
            "psnr_ycbcr", "ms_ssim_rgb", "ms_ssim_y", "seconds"]
    with open(out / "points.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols)
        for p in points:
            wr.writerow([f"{p[c]:.8g}" if isinstance(p[c], float) else p[c] for c in cols])
    write_json_atomic(out / "points.json", points)

    table = bd_table(points, anchor, labels)
    at = {c: {m: quality_at_bpp(points, c, m, at_bpp) for m in ("psnr_rgb", "psnr_y", "ms_ssim_rgb")}
          for c in labels}
    with open(out / "bd_rate.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["codec", "anchor", "metric", "bd_rate_percent", "bd_quality_db", "images"])
        for c in labels:
            for m, v in table[c].items():
                wr.writerow([c, anchor, m, f"{v['bd_rate']:.3f}", f"{v['bd_quality_db']:.4f}", v["images"]])
    summary = {
        "images": [f.name for f in files], "codecs": labels, "anchor": anchor, "notes": notes,
        "settings": {label: SETTINGS[base] + (f" options {options_label(o)}" if o else "")
                     for label, base, o in variants},
        "grids": {label: sorted({p["param"] for p in points if p["codec"] == label}) for label in labels},
        "bd": table, "at_bpp": at_bpp, "quality_at_bpp": at,
        "mean_seconds": {c: float(np.mean([p["seconds"] for p in points if p["codec"] == c] or [float("nan")]))
                         for c in labels},
        "failed": failed,
    }
    write_json_atomic(out / "summary.json", summary)
    md = summary_markdown(summary)
    (out / "summary.md").write_text(md)
    if plot:
        try:
            plot_rd(points, labels, out / "rd_curves.png",
                    title=f"{len(files)} images from {Path(folder).name}, mean over images per grid point")
        except ImportError:
            log("note: matplotlib is not installed (pip install 'pyvtm[eval]'): no rd_curves.png")
    return summary


def summary_markdown(s: dict) -> str:
    a = s["anchor"]
    bpp = s["at_bpp"]
    lines = [f"| codec | PSNR-RGB @ {bpp} bpp | PSNR-Y @ {bpp} bpp | BD-rate PSNR-Y vs {a} "
             f"| BD-rate PSNR-RGB vs {a} | BD-rate MS-SSIM vs {a} | s/encode |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def q(v):
        m = v["mean"]
        if not math.isfinite(m):
            return "n/a"
        return f"{m:.2f}" + ("" if v["images"] == v["of"] else f" ({v['images']}/{v['of']} img)")

    def r(v):
        return "n/a" if not math.isfinite(v["bd_rate"]) else f"{v['bd_rate']:+.1f}%" + (
            f" ({v['images']} img)" if v["skipped"] else "")

    for c in s["codecs"]:
        at = s["quality_at_bpp"][c]
        bd = s["bd"][c]
        lines.append(f"| {c} | {q(at['psnr_rgb'])} | {q(at['psnr_y'])} | {r(bd['psnr_y'])} | "
                     f"{r(bd['psnr_rgb'])} | {r(bd['ms_ssim_rgb'])} | {s['mean_seconds'][c]:.2f} |")
    return "\n".join(lines) + "\n"


def add_parser(sub) -> None:
    """Register ``pyvtm eval`` on an argparse sub-parser collection."""
    e = sub.add_parser("eval", help="RD evaluation of pyvtm against other codecs (BD-rates, RD plot)",
                       description="RD points of pyvtm and anchor codecs on the images of DIR; writes "
                                   "points.csv/json, bd_rate.csv, summary.md/json and rd_curves.png.")
    e.add_argument("dir", help="folder of images")
    e.add_argument("--codecs", default=",".join(CODECS),
                   help=f"comma-separated codecs (default {','.join(CODECS)})")
    e.add_argument("--qps", help="QPs of pyvtm/vvenc/x265, e.g. 27,32,37,42,47 or 22-47:5 "
                                 "(default 27,32,37,42,47,51)")
    e.add_argument("--grid", action="append", default=[], metavar="CODEC=V1,V2,...",
                   help="parameter grid of one codec (QPs, qualities, or target bpp for jpeg2000), repeatable")
    e.add_argument("--anchor", default="vvenc", help="BD-rate anchor (default vvenc)")
    e.add_argument("--pyvtm-opts", action="append", default=[], metavar="K=V[,K=V]",
                   help="extra pyvtm variant with these encoder options (repeatable)")
    e.add_argument("--postfilter", action="append", default=[], metavar="NAME",
                   help="extra pyvtm variant with this post-filter (msgdn, msgdn_gan, ...), repeatable; "
                        "same as --pyvtm-opts postfilter=NAME")
    e.add_argument("--images", type=int, help="use only the first N images")
    e.add_argument("--at-bpp", type=float, default=0.15, help="report quality at this bpp (default 0.15)")
    e.add_argument("-o", "--out", default="pyvtm-eval", help="output folder (default ./pyvtm-eval)")
    add_engine_arguments(e, resume_help="reuse cached points in OUT/cache", jobs_help="encodes")
    e.set_defaults(func=run_cli)


def run_cli(args) -> int:
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    grids = {}
    for g in args.grid:
        if "=" not in g:
            raise ValueError(f"--grid {g!r} is not of the form CODEC=V1,V2,...")
        k, v = g.split("=", 1)
        grids[k.strip()] = _parse_grid(v)
    qps = [int(q) for q in _parse_grid(args.qps)] if args.qps else None
    variants = [parse_options([o]) for o in args.pyvtm_opts] + [{"postfilter": n} for n in args.postfilter]
    with engine_from_args(args) as eng:
        s = evaluate(args.dir, codecs, qps=qps, grids=grids, anchor=args.anchor, pyvtm_opts=variants,
                     out=args.out, resume=args.resume, images=args.images, at_bpp=args.at_bpp, engine=eng)
    print(f"{len(s['images'])} images, anchor {s['anchor']}")
    print(summary_markdown(s), end="")
    out = Path(args.out)
    print(f"-> {out / 'points.csv'}, {out / 'bd_rate.csv'}, {out / 'summary.md'}, {out / 'rd_curves.png'}")
    if s["failed"]:
        print(f"{len(s['failed'])} point(s) failed: see {out / 'failures.json'} (--resume reruns only those)",
              file=sys.stderr)
        return 1
    return 0
