"""pyvtm: a VVC/H.266 intra image codec with a Python API.

>>> import pyvtm
>>> res = pyvtm.encode("picture.png", qp=32)
>>> res.save("picture.266"); print(res.bpp, res.psnr_y)
"""
# torch must be imported before the extension: pyvtm._core links libtorch
# (through the torch-facing hook layer) and relies on torch's shared
# libraries being loaded already (its rpath also points at ../torch/lib).
import torch as _torch  # noqa: F401

from .api import EncodeResult, encode
from .colour import rgb_to_ycbcr, ycbcr_to_rgb
from .decoder import DecodedPicture, decode, decode_picture
from .postfilters import postfilter

__version__ = "0.1.0"

__all__ = ["encode", "EncodeResult", "decode", "decode_picture", "DecodedPicture", "rgb_to_ycbcr",
           "ycbcr_to_rgb", "postfilter", "__version__"]
