"""The CNN tools inside the codec, with the shipped models.

Every combination of cnnif/cnnmc on and off must decode in pyvtm's decoder to
exactly the encoder's reconstruction; with CNNMC off, FFmpeg decodes the
stream to the picture before the CNN filter, bit-exactly; a CNNMC stream is
refused by FFmpeg (reserved NAL unit type) and by pyvtm's decoder when the
model is missing or different; CNNMC encodes are identical across processes
with different torch thread counts.
"""
import subprocess
import sys

import numpy as np
import pytest

import pyvtm
from pyvtm import zoo
from pyvtm.decoder import decode_picture
from pyvtm.ffmpeg import decode_vvc



def _picture(kodak_dir):
    from PIL import Image
    rgb = np.asarray(Image.open(kodak_dir / "kodim23.png").convert("RGB"))
    return np.ascontiguousarray(rgb[100:236, 200:392])  # 192x136: 2x2 CTUs, one partial


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


MODELS = {"cnnif": "cnnif_s", "cnnmc": "cnnmc"}


@pytest.mark.parametrize("cnnif,cnnmc", [(False, False), (True, False), (False, True), (True, True)])
def test_tools_decode_exactly(kodak_dir, cnnif, cnnmc):
    rgb = _picture(kodak_dir)
    res = pyvtm.encode(rgb, 37, cnnif=cnnif, cnnmc=cnnmc, models=MODELS)
    assert set(res.cnn_models) == {k for k, on in (("cnnif", cnnif), ("cnnmc", cnnmc)) if on}
    dec = decode_picture(res.bitstream)
    assert _same(dec.ycbcr, res.recon_ycbcr)
    w, h = res.recon_ycbcr[0].shape[::-1]
    if cnnmc:
        with pytest.raises(RuntimeError):
            decode_vvc(res.bitstream, w, h)
    else:
        before = decode_picture(res.bitstream, cnnif=False).ycbcr
        assert _same(decode_vvc(res.bitstream, w, h), before)
        if cnnif:
            # The per-CTU switch keeps the filter only where it lowers the
            # luma distortion: never worse than the picture before it.
            y = pyvtm.rgb_to_ycbcr(rgb)[0].astype(np.float64)
            mse_after = np.mean((res.recon_ycbcr[0][: y.shape[0], : y.shape[1]] - y) ** 2)
            mse_before = np.mean((before[0][: y.shape[0], : y.shape[1]] - y) ** 2)
            assert mse_after <= mse_before


def test_cnnmc_stream_needs_its_model(kodak_dir, tmp_path):
    res = pyvtm.encode(_picture(kodak_dir), 37, cnnmc=True, models=MODELS)
    # A different model file of the right kind: refused, naming both ids.
    with pytest.raises(ValueError, match="encoded with cnnmc model"):
        decode_picture(res.bitstream, models={"cnnif": "cnnif_s", "cnnmc": str(zoo.path("cnnif_s"))})
    # The C++ decoder itself refuses a CNNMC stream without the predictor.
    from pyvtm import _core
    with pytest.raises(ValueError, match="CNNMC"):
        _core.decode_bitstream(res.bitstream)


_ENCODE_IN_SUBPROCESS = """
import hashlib, sys, numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
import pyvtm
rgb = np.load(sys.argv[2])
res = pyvtm.encode(rgb, 32, cnnmc=True, models={"cnnmc": "cnnmc"})
print(hashlib.md5(res.bitstream).hexdigest())
"""


def test_cnnmc_deterministic_across_processes(kodak_dir, tmp_path):
    path = tmp_path / "rgb.npy"
    np.save(path, _picture(kodak_dir))
    digests = {
        subprocess.run([sys.executable, "-c", _ENCODE_IN_SUBPROCESS, str(t), str(path)], check=True,
                       capture_output=True, text=True).stdout.strip()
        for t in (1, 2)
    }
    here = pyvtm.encode(np.load(path), 32, cnnmc=True, models={"cnnmc": "cnnmc"})
    import hashlib
    digests.add(hashlib.md5(here.bitstream).hexdigest())
    assert len(digests) == 1
