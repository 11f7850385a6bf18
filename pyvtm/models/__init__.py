"""Neural networks of pyvtm's CNN coding tools (CompressAI-like layout).

* :mod:`pyvtm.models.cnnif`: CNNIF in-loop filter (dense residual units),
  presets ``cnnif`` (N=8, M=64) and ``cnnif_s`` (N=2, M=32).
* :mod:`pyvtm.models.cnnmc`: CNNMC most-probable-mode predictor (one run
  per 128x128 CTU), preset ``cnnmc``.
* :mod:`pyvtm.models.msgdn`: MSGDN post-filter of the decoded RGB picture
  (and the MSGDN-GAN discriminator), presets ``msgdn`` and ``msgdn_s``.

Shipped trained weights: :mod:`pyvtm.zoo`.
"""
from .cnnif import CNNIFilter, CNNIFNet, DenseResidualUnit, cnnif, cnnif_s
from .cnnmc import CNNMCNet, CNNMCExport, cnnmc
from .msgdn import MSGDNFilter, msgdn, msgdn_s

MODELS = {"cnnif": cnnif, "cnnif_s": cnnif_s, "cnnmc": cnnmc, "msgdn": msgdn, "msgdn_s": msgdn_s}

__all__ = ["CNNIFilter", "CNNIFNet", "DenseResidualUnit", "CNNMCNet", "CNNMCExport", "cnnif", "cnnif_s",
           "cnnmc", "MSGDNFilter", "msgdn", "msgdn_s", "MODELS"]
