"""pyvtm.ffmpeg helpers, checked on a stream from an independent encoder.

FFmpeg's libvvenc (when the bundled ffmpeg has it) makes a VVC stream, so the
decode path is tested independently of pyvtm's encoder.
"""
import subprocess

import numpy as np
import pytest

from pyvtm import ffmpeg


@pytest.fixture(scope="module")
def vvenc_stream(tmp_path_factory):
    exe = ffmpeg.ffmpeg_exe()
    encoders = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    if "libvvenc" not in encoders:
        pytest.skip("bundled ffmpeg has no libvvenc encoder")
    tmp = tmp_path_factory.mktemp("vvenc")
    w, h = 64, 48
    y = (np.arange(w * h) % 1024).astype("<u2")
    c = np.full(2 * (w // 2) * (h // 2), 512, "<u2")
    (tmp / "in.yuv").write_bytes(y.tobytes() + c.tobytes())
    subprocess.run([exe, "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
                    "-s", f"{w}x{h}", "-i", str(tmp / "in.yuv"), "-c:v", "libvvenc", "-qp", "22",
                    "-frames:v", "1", "-f", "vvc", str(tmp / "out.266")], check=True)
    return (tmp / "out.266").read_bytes(), w, h


def test_decode(vvenc_stream):
    bs, w, h = vvenc_stream
    y, cb, cr = ffmpeg.decode_vvc(bs, w, h)
    assert y.shape == (h, w) and cb.shape == cr.shape == (h // 2, w // 2)
    assert y.dtype == np.uint16
    assert int(y.max()) <= 1023
    assert abs(int(cb.astype(int).mean()) - 512) < 8
    # deterministic
    y2, _, _ = ffmpeg.decode_vvc(bs, w, h)
    assert np.array_equal(y, y2)


def test_probe_size(vvenc_stream):
    bs, w, h = vvenc_stream
    assert ffmpeg.probe_size(bs) == (w, h)
    y, _, _ = ffmpeg.decode_vvc(bs)
    assert y.shape == (h, w)


def test_wrong_size_raises(vvenc_stream):
    bs, w, h = vvenc_stream
    with pytest.raises(RuntimeError, match="expected"):
        ffmpeg.decode_vvc(bs, w + 2, h)


def test_trace_headers(vvenc_stream):
    text = ffmpeg.trace_headers(vvenc_stream[0])
    assert "sps_chroma_format_idc" in text
    assert "pps_pic_width_in_luma_samples" in text


def test_garbage_raises():
    with pytest.raises(RuntimeError, match="ffmpeg"):
        ffmpeg.decode_vvc(b"\x00\x00\x01garbage", 16, 16)
    with pytest.raises(RuntimeError, match="ffmpeg"):
        ffmpeg.decode_vvc(b"", 16, 16)


def test_bad_args():
    with pytest.raises(ValueError, match="even"):
        ffmpeg.decode_vvc(b"\x00", 15, 16)
    with pytest.raises(TypeError):
        ffmpeg.decode_vvc("not bytes", 16, 16)
