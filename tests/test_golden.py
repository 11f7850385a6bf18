"""Golden bitstreams (tests/golden/): each must decode to the md5 in the manifest.

The streams are stored, not re-encoded, so a change in what a stream decodes
to is caught even when encoder and decoder change together. Refresh them
only deliberately: tests/golden/make_goldens.py (see tests/golden/README.md).
"""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import pyvtm

GOLDEN = Path(__file__).resolve().parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
STREAMS = MANIFEST["streams"]


def yuv_md5(planes) -> str:
    h = hashlib.md5()
    for p in planes:
        h.update(np.ascontiguousarray(p, dtype="<u2").tobytes())
    return h.hexdigest()


def test_manifest_lists_every_stream():
    on_disk = sorted(p.name for p in GOLDEN.glob("*.266"))
    assert on_disk == sorted(e["file"] for e in STREAMS)
    assert 4 <= len(STREAMS) <= 12
    for e in STREAMS:
        assert (GOLDEN / e["file"]).stat().st_size < 16 * 1024, "goldens should stay small"


@pytest.mark.parametrize("entry", STREAMS, ids=[e["file"] for e in STREAMS])
def test_golden_pyvtm_decoder(entry):
    pic = pyvtm.decode_picture(GOLDEN / entry["file"])
    assert (pic.width, pic.height) == (entry["width"], entry["height"])
    assert pic.qp == entry["qp"]
    assert yuv_md5(pic.ycbcr) == entry["md5"], f"{entry['file']} no longer decodes to its golden md5"


@pytest.mark.parametrize("entry", STREAMS, ids=[e["file"] for e in STREAMS])
def test_golden_ffmpeg(entry):
    from pyvtm.ffmpeg import decode_vvc

    planes = decode_vvc((GOLDEN / entry["file"]).read_bytes(), entry["width"], entry["height"])
    assert yuv_md5(planes) == entry["md5"], f"FFmpeg decodes {entry['file']} to a different picture"
