"""Helpers around the FFmpeg binary shipped by ``imageio-ffmpeg``.

FFmpeg's native ``vvc`` decoder is the reference decoder pyvtm's output is
checked against: :func:`decode_vvc` returns the decoded 10-bit 4:2:0 planes,
:func:`trace_headers` the parsed parameter sets / slice headers as text.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile

import numpy as np

__all__ = ["ffmpeg_exe", "decode_vvc", "probe_size", "trace_headers"]


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (``imageio_ffmpeg.get_ffmpeg_exe()``)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([ffmpeg_exe(), *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"ffmpeg {what} failed (exit {proc.returncode}):\n{err}")
    return proc


def _with_bitstream_file(bitstream: bytes, fn):
    if not isinstance(bitstream, (bytes, bytearray, memoryview)):
        raise TypeError(f"bitstream must be bytes, got {type(bitstream).__name__}")
    with tempfile.TemporaryDirectory(prefix="pyvtm-ffmpeg-") as tmp:
        path = os.path.join(tmp, "in.266")
        with open(path, "wb") as f:
            f.write(bytes(bitstream))
        return fn(tmp, path)


def probe_size(bitstream: bytes) -> tuple[int, int]:
    """(width, height) of the decoded picture, as reported by ffmpeg."""

    def work(tmp: str, path: str) -> tuple[int, int]:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-f", "vvc", "-i", path],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = proc.stderr.decode("utf-8", "replace")
        m = re.search(r"Video: vvc.*?, (\d+)x(\d+)", err)
        if not m:
            raise RuntimeError(f"ffmpeg could not determine the picture size:\n{err.strip()}")
        return int(m.group(1)), int(m.group(2))

    return _with_bitstream_file(bitstream, work)


def decode_vvc(bitstream: bytes, width: int | None = None,
               height: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode a VVC Annex-B bitstream (one picture) with ffmpeg's ``vvc`` decoder.

    ``width``/``height`` are the size of the decoded (conformance-window
    cropped) picture, i.e. the input size rounded up to even; when omitted
    they are probed with ffmpeg. Returns ``(Y, Cb, Cr)`` uint16 planes of
    shapes (height, width) and (height/2, width/2) from the first decoded
    picture. Raises RuntimeError (with ffmpeg's stderr) when ffmpeg fails or
    produces output of an unexpected length.
    """
    if width is None or height is None:
        width, height = probe_size(bitstream)
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"decoded size must be positive and even, got {width}x{height}")
    cw, ch = width // 2, height // 2
    frame_bytes = 2 * (width * height + 2 * cw * ch)

    def work(tmp: str, path: str):
        out = os.path.join(tmp, "out.yuv")
        # -threads 1: FFmpeg's multithreaded vvc decoder is not deterministic
        # on some streams (e.g. 16x4096); single-threaded decoding is.
        proc = _run(["-hide_banner", "-nostdin", "-v", "error", "-y", "-threads", "1", "-f", "vvc", "-c:v", "vvc",
                     "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", out],
                    "vvc decode")
        data = open(out, "rb").read() if os.path.exists(out) else b""
        if len(data) != frame_bytes:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise RuntimeError(f"ffmpeg vvc decode produced {len(data)} bytes, expected {frame_bytes} "
                               f"for a {width}x{height} 4:2:0 10-bit picture:\n{err}")
        return data

    data = _with_bitstream_file(bitstream, work)
    s = np.frombuffer(data, dtype="<u2").astype(np.uint16)
    n = width * height
    y = s[:n].reshape(height, width)
    cb = s[n:n + cw * ch].reshape(ch, cw)
    cr = s[n + cw * ch:].reshape(ch, cw)
    return y, cb, cr


def trace_headers(bitstream: bytes) -> str:
    """Text dump of the bitstream's headers (ffmpeg ``-bsf:v trace_headers``)."""

    def work(tmp: str, path: str) -> str:
        proc = _run(["-hide_banner", "-nostdin", "-f", "vvc", "-i", path, "-c:v", "copy",
                     "-bsf:v", "trace_headers", "-f", "null", "-"], "trace_headers")
        return proc.stderr.decode("utf-8", "replace")

    return _with_bitstream_file(bitstream, work)
