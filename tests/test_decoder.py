"""Decodability regression: encoder reconstruction == pyvtm decoder == FFmpeg.

For a matrix of pictures (tiny synthetic ones and Kodak crops) x QPs x
encoder options, the stream pyvtm writes must decode, with pyvtm's own
decoder and with FFmpeg's ``vvc`` decoder (single-threaded), to exactly the
reconstruction the encoder reports. Fast run: a reduced matrix; the full
product runs with ``pytest -m slow``. Also the Python API and CLI of the
decoder.
"""
import hashlib
import itertools
import subprocess
import sys

import numpy as np
import pytest

import pyvtm
from pyvtm.ffmpeg import decode_vvc


def yuv_md5(planes) -> str:
    h = hashlib.md5()
    for p in planes:
        h.update(np.ascontiguousarray(p, dtype="<u2").tobytes())
    return h.hexdigest()


def smooth(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 128 + 90 * np.cos((x + y) / 15.0)
    b = 255.0 * x / max(w - 1, 1)
    return np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8)


def noise(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def checker(h, w, cell=5):
    y, x = np.mgrid[0:h, 0:w]
    m = ((y // cell + x // cell) % 2).astype(np.uint8) * 255
    return np.stack([m, 255 - m, m // 3], -1)


SYNTHETIC = {
    "smooth_40x24": lambda: smooth(24, 40),
    "noise_23x41": lambda: noise(41, 23, 3),
    "checker_64x32": lambda: checker(32, 64),
    "smooth_8x136": lambda: smooth(136, 8),
}
KODAK = {  # name -> (image number, crop)
    "kodim05_96x160": (5, np.s_[0:96, 0:160]),
    "kodim08_136x128": (8, np.s_[256:384, 320:456]),
    "kodim20_200x72": (20, np.s_[100:172, 200:400]),
}
IMAGES = list(SYNTHETIC) + list(KODAK)
QPS = [22, 32, 42]
OPTIONS = {
    "default": {},
    "min_cu_log2_3": {"min_cu_log2": 3},
    "min_cu_log2_5": {"min_cu_log2": 5},
    "rd_candidates_1": {"intra_rd_candidates": 1},
    "no_rdoq": {"rdoq": False},
    "no_deblocking": {"deblocking": False},
    "no_rdo_split": {"rdo_split": False},
}


@pytest.fixture(scope="module")
def image(request):
    cache = {}

    def get(name):
        if name not in cache:
            if name in SYNTHETIC:
                cache[name] = SYNTHETIC[name]()
            else:
                n, crop = KODAK[name]
                kodak = request.getfixturevalue("kodak_rgb")
                cache[name] = np.ascontiguousarray(kodak(n)[crop])
        return cache[name]

    return get


def check_three_way(img, qp, opts):
    res = pyvtm.encode(img, qp=qp, **opts)
    pic = pyvtm.decode_picture(res.bitstream)
    recon_md5 = yuv_md5(res.recon_ycbcr)
    assert (pic.height, pic.width) == res.recon_ycbcr[0].shape
    assert pic.qp == qp
    for name, a, b in zip("Y Cb Cr".split(), pic.ycbcr, res.recon_ycbcr):
        if not np.array_equal(a, b):
            bad = np.argwhere(a != b)
            raise AssertionError(f"{name}: pyvtm decoder differs from the encoder recon in {len(bad)} samples, "
                                 f"first at {tuple(bad[0])}")
    ff = decode_vvc(res.bitstream, pic.width, pic.height)
    assert yuv_md5(ff) == recon_md5, "FFmpeg decodes the stream to a different picture"
    return res, pic


FAST = [(img, qp, "default") for img in IMAGES for qp in QPS] + \
       [(img, 32, opt) for img in ("noise_23x41", "kodim08_136x128") for opt in OPTIONS if opt != "default"]


@pytest.mark.parametrize("img,qp,opt", FAST, ids=[f"{i}-qp{q}-{o}" for i, q, o in FAST])
def test_three_way(image, img, qp, opt):
    check_three_way(image(img), qp, OPTIONS[opt])


SLOW = [c for c in itertools.product(IMAGES, QPS + [0, 63], OPTIONS) if c not in FAST]


@pytest.mark.slow
@pytest.mark.parametrize("img,qp,opt", SLOW, ids=[f"{i}-qp{q}-{o}" for i, q, o in SLOW])
def test_three_way_full(image, img, qp, opt):
    check_three_way(image(img), qp, OPTIONS[opt])


@pytest.mark.parametrize("qp", [0, 63])
def test_extreme_qps(qp):
    check_three_way(noise(24, 40, qp), qp, {})


def test_multi_ctu_kodak(kodak_rgb):
    # Several CTU rows and columns with partial CTUs at the right and bottom.
    check_three_way(np.ascontiguousarray(kodak_rgb(14)[:200, :328]), 27, {})


# --- Python API -------------------------------------------------------------

def test_decode_api_forms(tmp_path):
    img = smooth(30, 46)
    res = pyvtm.encode(img, qp=27)
    rgb = pyvtm.decode(res.bitstream)
    assert rgb.dtype == np.uint8 and rgb.shape == (30, 46, 3)
    assert np.array_equal(rgb, res.recon_rgb)
    planes = pyvtm.decode(res.bitstream, ycbcr=True)
    assert [p.dtype for p in planes] == [np.uint16] * 3
    assert [p.shape for p in planes] == [(30, 46), (15, 23), (15, 23)]
    path = res.save(tmp_path / "x.266")
    for src in (path, str(path), bytearray(res.bitstream), memoryview(res.bitstream)):
        assert np.array_equal(pyvtm.decode(src), rgb)
    pic = pyvtm.decode_picture(res.bitstream)
    assert (pic.width, pic.height, pic.coded_width, pic.coded_height) == (46, 30, 48, 32)
    assert pic.colour == (1, 13, 5, True)
    assert pic.seconds >= 0


def test_decode_odd_size_is_even():
    res = pyvtm.encode(smooth(17, 33), qp=32)
    rgb = pyvtm.decode(res.bitstream)
    assert rgb.shape == (18, 34, 3)
    assert np.array_equal(rgb[:17, :33], res.recon_rgb)


@pytest.mark.parametrize("bad", [None, 5, 1.5, ["a"], np.zeros(4, np.uint8)])
def test_decode_wrong_type(bad):
    with pytest.raises(TypeError, match="bytes"):
        pyvtm.decode(bad)


def test_decode_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        pyvtm.decode(tmp_path / "nope.266")


# --- CLI ----------------------------------------------------------------------

def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pyvtm", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_cli_decode_png_and_yuv(tmp_path):
    from PIL import Image

    res = pyvtm.encode(checker(24, 40), qp=32)
    src = res.save(tmp_path / "in.266")
    p = run_cli("decode", src, "-o", tmp_path / "out.png")
    assert p.returncode == 0, p.stderr
    assert "40x24" in p.stdout
    with Image.open(tmp_path / "out.png") as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), res.recon_rgb)
    p = run_cli("decode", src, "-o", tmp_path / "out.yuv")
    assert p.returncode == 0, p.stderr
    data = (tmp_path / "out.yuv").read_bytes()
    assert hashlib.md5(data).hexdigest() == yuv_md5(res.recon_ycbcr)
    # Default output name: <input stem>.png in the current directory.
    p = run_cli("decode", src, cwd=tmp_path)
    assert p.returncode == 0 and (tmp_path / "in.png").is_file()


def test_cli_decode_bad_input(tmp_path):
    bad = tmp_path / "bad.266"
    bad.write_bytes(b"\x00\x00\x01garbage")
    p = run_cli("decode", bad, "-o", tmp_path / "x.png")
    assert p.returncode == 2
    assert "pyvtm decode: error:" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("decode", tmp_path / "missing.266")
    assert p.returncode == 2 and "no such file" in p.stderr
