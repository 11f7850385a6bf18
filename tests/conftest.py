"""Shared fixtures for the pyvtm test suite.

Data: the Kodak images are read from ``shared/data/kodak`` beside the repo
(``<repo>/../shared/data/kodak``), or from ``$PYVTM_DATA`` (either the data
root that contains ``kodak/``, or the Kodak folder itself).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def kodak_path() -> Path:
    env = os.environ.get("PYVTM_DATA")
    if env:
        p = Path(env)
        return p / "kodak" if (p / "kodak").is_dir() else p
    return REPO_ROOT.parent / "shared" / "data" / "kodak"


def pytest_report_header(config):
    try:
        import pyvtm

        where = Path(pyvtm.__file__).parent
    except Exception as e:  # pragma: no cover - shown in the header only
        where = f"not importable ({e})"
    return [f"pyvtm package: {where}", f"kodak data: {kodak_path()}"]


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    """Folder holding kodim01.png .. kodim24.png (fails, never skips, when missing)."""
    p = kodak_path()
    if not (p / "kodim01.png").is_file():
        pytest.fail(f"Kodak images not found in {p}: put shared/data beside the repo or set PYVTM_DATA")
    return p


def load_rgb(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def assert_decodes_to_recon(res) -> None:
    """FFmpeg's vvc decoder must reproduce ``res.recon_ycbcr`` exactly."""
    from pyvtm.ffmpeg import decode_vvc

    ry, rcb, rcr = res.recon_ycbcr
    assert len(res.bitstream) > 0, "encoder produced an empty bitstream"
    h, w = ry.shape
    assert (w, h) == (res.width + (res.width & 1), res.height + (res.height & 1)), \
        f"recon is {w}x{h}, expected the input size {res.width}x{res.height} rounded up to even"
    dec = decode_vvc(res.bitstream, w, h)
    for name, d, r in zip(("Y", "Cb", "Cr"), dec, (ry, rcb, rcr)):
        assert d.shape == r.shape, f"{name}: decoded shape {d.shape} != recon shape {r.shape}"
        if not np.array_equal(d, r):
            diff = np.argwhere(d != r)
            y0, x0 = diff[0]
            raise AssertionError(
                f"{name} plane: ffmpeg decode differs from recon_ycbcr in {len(diff)} of {d.size} "
                f"samples; first at (y={y0}, x={x0}): decoded {d[y0, x0]} vs recon {r[y0, x0]}")


@pytest.fixture
def conformance():
    """encode(img, qp, **kw) followed by the FFmpeg exact-match check; returns the result."""
    import pyvtm

    def run(img, qp=32, **kw):
        res = pyvtm.encode(img, qp=qp, **kw)
        assert_decodes_to_recon(res)
        assert res.bits == 8 * len(res.bitstream)
        assert res.bpp > 0
        return res

    return run


@pytest.fixture(scope="session")
def kodak_rgb(kodak_dir):
    """kodak_rgb(n) -> kodimNN as an (H, W, 3) uint8 array."""

    def get(n: int) -> np.ndarray:
        return load_rgb(kodak_dir / f"kodim{n:02d}.png")

    return get
