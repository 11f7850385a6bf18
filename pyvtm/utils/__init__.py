"""Utilities; for the CNN coding tools:

* :mod:`pyvtm.utils.dataset`: builds training sets by running pyvtm's own
  encoder on image crops (CNNIF pairs, CNNMC mode maps).
* :mod:`pyvtm.utils.train`: training loops (checkpoints, resume) and
  evaluation (``pyvtm train``).
* :mod:`pyvtm.utils.export`: TorchScript export with metadata and loading
  (``pyvtm export``).
"""
