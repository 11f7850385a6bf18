"""Training utilities for pyvtm's CNN coding tools.

* :mod:`pyvtm.utils.dataset`: builds training sets by running pyvtm's own
  encoder on image crops (CNNIF pairs, CNNMC mode maps).
* :mod:`pyvtm.utils.train`: training loops (checkpoints, resume), evaluation
  and TorchScript export.
"""
