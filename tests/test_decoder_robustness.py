"""Bad input never crashes the decoder: each case is a ValueError with a clear
message (or, for some corruptions, a decoded picture), never a crash or hang.

Also replays the regression corpus tests/fuzz_corpus/ (hand-made bad inputs
and inputs from the libFuzzer runs, see fuzz/README.md).
"""
from pathlib import Path

import numpy as np
import pytest

import pyvtm

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")
SC = b"\x00\x00\x00\x01"


@pytest.fixture(scope="module")
def stream():
    img = np.random.default_rng(11).integers(0, 256, (40, 72, 3), np.uint8)
    return pyvtm.encode(img, qp=27).bitstream


def nal_units(bs):
    return bs.split(SC)[1:]  # pyvtm writes 4-byte start codes


def join(*nals):
    return b"".join(SC + n for n in nals)


def decode_ok_or_value_error(data):
    try:
        rgb = pyvtm.decode(data)
    except ValueError as e:
        assert str(e), "empty error message"
        return str(e)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    return None


def test_corpus_present():
    assert len(CORPUS_FILES) >= 10


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_replay(path):
    decode_ok_or_value_error(path.read_bytes())


@pytest.mark.parametrize("data,match", [
    (b"", "empty input"),
    (b"\x00" * 16, "only zero bytes"),
    (b"not a bitstream", "start code"),
    (b"\x00\x00\x01", "shorter than its 2-byte header"),
])
def test_not_a_stream(data, match):
    with pytest.raises(ValueError, match=match):
        pyvtm.decode(data)


def test_truncation(stream):
    n = len(stream)
    for cut in sorted({1, 3, 4, 5, 8, 20, n // 4, n // 2, n - 10, n - 2, n - 1} | set(range(0, n, 37))):
        with pytest.raises(ValueError):
            pyvtm.decode(stream[:cut])


def test_truncated_slice_message(stream):
    with pytest.raises(ValueError, match="ran past the end|truncated"):
        pyvtm.decode(stream[:-20])


def test_bit_flips(stream):
    rng = np.random.default_rng(0)
    errors = 0
    for bit in rng.choice(len(stream) * 8, 300, replace=False):
        data = bytearray(stream)
        data[bit // 8] ^= 0x80 >> (bit % 8)
        errors += decode_ok_or_value_error(bytes(data)) is not None
    assert errors > 0


def test_random_garbage():
    rng = np.random.default_rng(1)
    for _ in range(300):
        data = SC + rng.integers(0, 256, int(rng.integers(1, 400)), np.uint8).tobytes()
        decode_ok_or_value_error(data)


def test_missing_parameter_sets(stream):
    sps, pps, sl = nal_units(stream)
    with pytest.raises(ValueError, match="SPS"):
        pyvtm.decode(join(pps, sl))
    with pytest.raises(ValueError, match="PPS"):
        pyvtm.decode(join(sps, sl))
    with pytest.raises(ValueError, match="no IDR slice"):
        pyvtm.decode(join(sps, pps))


@pytest.mark.parametrize("nal_type,name", [(0, "TRAIL"), (1, "STSA"), (9, "CRA"), (10, "GDR")])
def test_wrong_vcl_nal_type(stream, nal_type, name):
    sps, pps, sl = nal_units(stream)
    bad = bytes([sl[0], (nal_type << 3) | 1]) + sl[2:]
    with pytest.raises(ValueError, match=f"{name}.*not supported"):
        pyvtm.decode(join(sps, pps, bad))


def test_parameter_set_in_wrong_nal_type(stream):
    sps, pps, sl = nal_units(stream)
    # The SPS payload sent as a PPS: parsed as a PPS and found inconsistent.
    as_pps = bytes([pps[0], pps[1]]) + sps[2:]
    decode_ok_or_value_error(join(sps, as_pps, sl))


def test_two_pictures(stream):
    with pytest.raises(ValueError, match="more than one picture"):
        pyvtm.decode(stream + stream)


def test_trailing_garbage_in_slice(stream):
    with pytest.raises(ValueError, match="after the end of the slice|trailing|stop"):
        pyvtm.decode(stream + b"\x12\x34")


def test_ignored_nal_units(stream):
    # SEI, AUD and EOB NAL units around the picture are skipped.
    sps, pps, sl = nal_units(stream)
    aud = bytes([0, (20 << 3) | 1, 0x50])
    sei = bytes([0, (23 << 3) | 1, 0x05, 0x01, 0x00, 0x80])
    eob = bytes([0, (22 << 3) | 1])
    ref = pyvtm.decode(stream, ycbcr=True)
    got = pyvtm.decode(join(aud, sps, pps, sei, sl, eob), ycbcr=True)
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))
